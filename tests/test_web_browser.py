"""`lifelong serve` in real Chromium (Debian's ``chromium``, driven by playwright-python).

The walk a user takes: open the skill list, search, open a skill, follow a callee in the call
graph, download an export, take a screenshot; and on the way, check that no script from a
skill's description ran and that the page raised no errors (CSP violations included).

Without Chromium the test is skipped on a developer machine and FAILS in CI (``CI`` set; .ci/run
installs Chromium), so CI can never pass without having driven a browser.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from web_support import serving, web_data

from lifelong.library import SkillLibrary
from lifelong.web import ServeConfig, create_app

CHROMIUM = os.environ.get("LIFELONG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def playwright():
    """playwright's sync entry point once a Chromium binary is known; skip locally when either
    is missing, fail in CI. (A fixture, so that a skip comes before the embedding model loads.)"""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("playwright (pip install -e '.[dev]')")
        sync_playwright = None
    if not CHROMIUM:
        missing.append("chromium (apt-get install chromium, or set LIFELONG_CHROMIUM)")
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run it, not skip it")
        pytest.skip(message)
    return sync_playwright


@pytest.mark.node  # playwright drives Chromium through its own Node; web_data's run reads programs with Node
def test_list_search_skill_callee_export_and_screenshot_in_chromium(playwright, tmp_path, embedder):
    library_dir, runs = web_data(tmp_path / "data", embedder, with_eureka=False)
    app = create_app(ServeConfig(library=library_dir, runs=runs), SkillLibrary(library_dir, embedder=embedder))
    with serving(app) as url, playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                    if msg.type in ("error", "warning") else None)
            _walk(page, url, tmp_path)
            assert problems == []
        finally:
            browser.close()


def _walk(page, url: str, tmp_path: Path) -> None:
    # the list
    page.goto(url + "/")
    assert page.locator("h1").inner_text().startswith("Skills")
    names = page.locator("a.skill-link").all_inner_texts()
    assert sorted(names) == ["craftCraftingTable", "craftPlanks", "mineWoodLog"]

    # search through the header's box (the library's retrieval)
    page.fill("header input[name=q]", "make planks out of logs")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/?q=*")
    assert page.locator("a.skill-link").first.inner_text() == "craftPlanks"

    # open the skill
    page.locator("a.skill-link", has_text="craftPlanks").first.click()
    page.wait_for_url("**/skills/craftPlanks")
    assert page.locator("h1 .skill-name").inner_text() == "craftPlanks"
    assert page.locator("#code .code").first.is_visible()
    assert "no oak_log in the inventory" in page.locator("#evidence").inner_text()

    # follow the callee in the call graph (an SVG link)
    page.locator('svg.graph a[href="/skills/mineWoodLog"]').click()
    page.wait_for_url("**/skills/mineWoodLog")
    assert page.locator("h1 .skill-name").inner_text() == "mineWoodLog"
    # v1's description holds a <script>: it shows as text and never runs
    assert "<script>window.pwned=1</script>" in page.locator("#versions").inner_text()
    assert page.evaluate("typeof window.pwned") == "undefined"

    # download an export from the header's menu
    page.locator("header details.menu summary").click()
    with page.expect_download() as download_info:
        page.locator('a[href="/export/zip"]').click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert "manifest.json" in archive.namelist()
        assert any(n.endswith("mineWoodLog/v2/code.js") for n in archive.namelist())

    # and a screenshot of the skill page
    shot = tmp_path / "skill.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
