"""The blog example (examples/blog/app.py) in the browser, one visitor from registering
to logging out: forms with their CSRF tokens, flash messages, the stylesheet, the login
redirect of a protected page."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from playwright.async_api import Page, expect

from example_apps import load_example

from .conftest import NewPageFn, ServeFn

PASSWORD = "correct horse battery"


@pytest.fixture
def blog(tmp_path: Path) -> ModuleType:
    module = load_example("blog")
    module.app.config["DATABASE"] = str(tmp_path / "blog.sqlite3")
    return module


async def log_in(page: Page, username: str, password: str) -> None:
    await page.fill("#login-form input[name=username]", username)
    await page.fill("#login-form input[name=password]", password)
    await page.click("#login-form button[type=submit]")


async def test_register_log_in_post_and_log_out(
    blog: ModuleType, serve: ServeFn, new_page: NewPageFn
) -> None:
    base_url = await serve(blog.app)
    page = await new_page()
    await page.goto(base_url + "/")
    await expect(page.locator("p.empty")).to_have_text("No posts yet.")
    # The stylesheet was served and applied: the navigation bar is a flex row.
    await expect(page.locator("nav")).to_have_css("display", "flex")

    await page.click("#register")
    await page.fill("#register-form input[name=username]", "ann")
    await page.fill("#register-form input[name=password]", PASSWORD)
    await page.click("#register-form button[type=submit]")
    await expect(page.locator(".flash")).to_have_text("Welcome, ann! Your account is ready.")
    await expect(page.locator("#current-user")).to_have_text("ann")

    await page.click("#logout button")
    await expect(page.locator(".flash")).to_have_text("You have been logged out.")
    await expect(page.locator("#current-user")).to_have_count(0)

    await page.click("#login")
    await log_in(page, "ann", "not the password")
    await expect(page.locator("#login-error")).to_have_text("Incorrect username or password.")
    await log_in(page, "ann", PASSWORD)
    await expect(page.locator(".flash")).to_have_text("Welcome back, ann!")
    await expect(page).to_have_url(base_url + "/")

    await page.click("#new-post")
    await page.fill("#post-form input[name=title]", "Hello <world>")
    await page.fill("#post-form textarea[name=body]", "My first post.")
    await page.click("#post-form button[type=submit]")
    await expect(page.locator(".flash")).to_have_text("Post published.")
    await expect(page.locator("article.post h2")).to_have_text(["Hello <world>"])
    await expect(page.locator("article.post .author")).to_have_text("ann")
    await expect(page.locator("article.post .body")).to_have_text("My first post.")
    # The flash message was shown once: a reload no longer has it.
    await page.reload()
    await expect(page.locator(".flash")).to_have_count(0)
    await expect(page.locator("article.post h2")).to_have_text(["Hello <world>"])

    await page.click("#logout button")
    await expect(page.locator(".flash")).to_have_text("You have been logged out.")
    await page.goto(base_url + "/create")
    await expect(page).to_have_url(base_url + "/login?next=/create")
    await expect(page.locator("#login-form")).to_be_visible()
    # Logging in from there brings the visitor back to the page they asked for.
    await log_in(page, "ann", PASSWORD)
    await expect(page).to_have_url(base_url + "/create")
    await expect(page.locator("#post-form")).to_be_visible()


async def test_a_post_is_seen_by_other_visitors_without_its_edit_link(
    blog: ModuleType, serve: ServeFn, new_page: NewPageFn
) -> None:
    base_url = await serve(blog.app)
    author, reader = await new_page(), await new_page()
    await author.goto(base_url + "/register")
    await author.fill("#register-form input[name=username]", "ann")
    await author.fill("#register-form input[name=password]", PASSWORD)
    await author.click("#register-form button[type=submit]")
    await author.click("#new-post")
    await author.fill("#post-form input[name=title]", "For everyone")
    await author.fill("#post-form textarea[name=body]", "Text")
    await author.click("#post-form button[type=submit]")
    await expect(author.locator("article.post a.edit")).to_have_count(1)

    await reader.goto(base_url + "/")
    await expect(reader.locator("article.post h2")).to_have_text(["For everyone"])
    await expect(reader.locator("article.post a.edit")).to_have_count(0)
    await expect(reader.locator("#login")).to_be_visible()
