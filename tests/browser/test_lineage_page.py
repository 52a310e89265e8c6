"""What an analyst opens: the Dagster UI's global asset lineage shows every asset of the chain,
from the ERP extraction to the reconciliation (the observed callback landing included), each
node with its checks and, for the materialized ones, the partition materialized; each asset's
Checks tab names every check. Headless chromium (Debian's, /usr/bin/chromium) driven by
Playwright; `.ci/browser` runs it.

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
# The chain as the issue names it; the Definitions may grow, never lose one of these.
WHOLE_CHAIN = ("erp_deliveries", "delivery_jobs", "upload_batches", "job_submissions",
               "callback_landing", "reconciliation")

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
    # Partitions from today: tomorrow's materialized partition fills half of them, which the
    # nodes show (one of hundreds since the default start would read "0% filled").
    env = pipeline_env(fleet_home, dagster_home, FLEET_PARTITIONS_START=date.today().isoformat())
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
        yield base_url, {**every_asset(), **checks_by_asset}


def every_asset() -> dict[str, list[str]]:
    """Every asset of the Definitions, materializable or only observed (callback_landing), with
    its check names."""
    from fleet_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return {key.to_user_string(): sorted(check.name
                                         for check in graph.get_check_keys_for_assets({key}))
            for key in graph.toposorted_asset_keys}


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


def _node(page, label: str):
    """The graph node of an asset: the innermost element holding its name and its rows."""
    return (page.locator("div")
            .filter(has=page.get_by_text(label, exact=True))
            .filter(has_text="Asset checks").filter(has_text="Partitions").last)


def test_the_lineage_page_shows_the_whole_chain_and_its_checks(webserver, page):
    base_url, assets = webserver
    assert set(WHOLE_CHAIN) <= set(assets), "the Definitions lost part of the chain"
    materialized = set(chain())

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
    # Statuses load after the graph: wait for them, so the nodes show the materializations.
    expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0)
    for key, checks in assets.items():
        node = _node(page, _node_label(key))
        expect(node).to_be_visible()
        # The node's text runs its rows together: "...Asset checks1 / 1 PassedPartitions...".
        if checks:  # "N / M Passed" (or failed, warned): M counts every check of the asset
            expect(node).to_contain_text(
                re.compile(rf"Asset checks\D*\d+ / {len(checks)}(?!\d)"))
        if key in materialized:
            # The day's partition: "Latest event ... ago" and the partitions half filled.
            expect(node).to_contain_text(re.compile(r"Latest event.+ ago"))
            expect(node).to_contain_text("50% filled")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    for key, checks in assets.items():
        if not checks:
            continue
        page.goto(f"{base_url}/assets/{key}?view=checks")
        for name in checks:
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
