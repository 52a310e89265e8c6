"""What an analyst opens: the Dagster UI's global asset lineage shows every asset of the chain,
and each asset's Checks tab every check, after a partition was materialized. Headless chromium
(Debian's, /usr/bin/chromium) driven by Playwright; `.ci/browser` runs it.

Leaves a full-page screenshot of the lineage in test-artifacts/lineage.png.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta

import pytest
from chain_support import (
    DEPLOY,
    ROOT,
    chain,
    cli,
    fleet_api_simulator,
    free_port,
    materialize_partition,
    pipeline_env,
    seed_erp,
    serving,
)
from dagster import AssetKey
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = ROOT / "test-artifacts" / "lineage.png"
UI_TIMEOUT_MS = 60_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def webserver(tmp_path):
    """dagster-webserver on the project's workspace, over an instance (the dev dagster.yaml,
    SQLite) holding one materialized partition of the chain; yields (base URL, chain)."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(DEPLOY / "dev" / "dagster.yaml", dagster_home / "dagster.yaml")
    fleet_home = tmp_path / "fleet_home"
    fleet_home.mkdir()
    env = pipeline_env(fleet_home, dagster_home)
    day = (date.today() + timedelta(days=1)).isoformat()
    checks_by_asset = chain()
    seed_erp(env, day)
    with fleet_api_simulator(env):
        materialize_partition(env, day, list(checks_by_asset))

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [cli("dagster-webserver"), "-w", "dagster_workspace.yaml", "-h", "127.0.0.1",
               "-p", str(port)]
    with serving(command, f"{base_url}/server_info", env, timeout_s=120):
        yield base_url, checks_by_asset


@pytest.fixture
def page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            expect.set_options(timeout=UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def _node_label(key: str) -> str:
    # A graph node is labelled with the last part of its asset key.
    return AssetKey.from_user_string(key).path[-1]


def test_the_lineage_page_shows_the_whole_chain_and_its_checks(webserver, page):
    base_url, checks_by_asset = webserver
    assert checks_by_asset, "the Definitions hold no daily-partitioned asset"

    page.goto(f"{base_url}/asset-groups")
    # Groups start collapsed; the graph's settings menu opens them all. Navigation and the group
    # tree are hidden to give the graph the page's width.
    page.get_by_role("button", name="Hide navigation").click()
    page.locator("button:has([aria-label=panel_show_right])").last.click()
    page.locator("button:has([aria-label=settings])").last.click()
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expand = menu.get_by_role("menuitem", name="Expand all groups")
    if expand.count():  # offered only when the chain spans several groups
        expand.click()
    page.keyboard.press("Escape")
    for key in checks_by_asset:
        expect(page.get_by_text(_node_label(key), exact=True).first).to_be_visible()
    # Statuses load after the graph: wait for them, so the screenshot shows the materializations.
    expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    for key, checks in checks_by_asset.items():
        if not checks:
            continue
        page.goto(f"{base_url}/assets/{key}?view=checks")
        for name in checks:
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
