"""The exercise checks of 03 (the function's UserParameters) and 04 (a second Lambda action).

Each check prints one line, ✓ or what is still missing: these tests give it the pipeline and
the site a learner might have, and assert the line the learner reads.
"""

from __future__ import annotations

import json

import pytest

from helpers import pipelines, workbook
from helpers.exercises import health_check, lambda_action

SITE = "http://127.0.0.1:4566/wb-site"
PAGES = {
    f"{SITE}/index.html": "<h1>Congratulations!</h1><p>deployed using AWS CodePipeline</p>",
    f"{SITE}/about.html": "<h1>About this sample</h1>",
}


class _CodePipeline:
    def __init__(self, declaration: dict):
        self.declaration = declaration

    def get_pipeline(self, name: str) -> dict:
        assert name == self.declaration["name"]
        return {"pipeline": self.declaration}


class _Book:
    """What the checks use of a Workbook: names, the site's URLs, a CodePipeline client."""

    def __init__(self, declaration: dict | None = None):
        self.names = workbook.Names("wb", "111122223333", "us-east-1")
        self._codepipeline = _CodePipeline(declaration or {"name": self.names.pipeline})

    def site_url(self, key: str = "index.html") -> str:
        return f"{SITE}/{key}"

    def client(self, service: str):
        assert service == "codepipeline"
        return self._codepipeline


@pytest.fixture(autouse=True)
def site(monkeypatch):
    """The deployed site, without a server: the checks read pages through page_text."""

    def page_text(url: str) -> str:
        return PAGES.get(url, "")

    monkeypatch.setattr(health_check, "page_text", page_text)
    monkeypatch.setattr(lambda_action, "page_text", page_text)


def _pipeline(book: _Book, *extra_actions: dict, with_stage: bool = True) -> dict:
    declaration = pipelines.two_stage_pipeline(
        book.names.pipeline, "arn:aws:iam::111122223333:role/r", "art", "src", "k", "site"
    )
    if with_stage:
        declaration = pipelines.add_lambda_stage(
            declaration, book.names.health_function, book.site_url()
        )
        for action in extra_actions:
            declaration = pipelines.add_action(declaration, "LambdaStage", action)
    return declaration


HEALTH = workbook.Names("wb", "111122223333", "us-east-1").health_function


@pytest.mark.parametrize(
    ("extra", "with_stage", "verdict"),
    [
        ((), False, "Not yet: the pipeline has no LambdaStage yet"),
        ((), True, "Not yet: LambdaStage has only MyLambdaAction"),
        (
            (pipelines.lambda_action("CheckAboutPage", "other-function", f"{SITE}/about.html"),),
            True,
            "Not yet: CheckAboutPage must invoke the health check",
        ),
        (
            (pipelines.lambda_action("CheckAboutPage", HEALTH, f"{SITE}/index.html"),),
            True,
            f"Not yet: CheckAboutPage's UserParameters must point at {SITE}/about.html",
        ),
        (
            (pipelines.lambda_action("CheckAboutPage", HEALTH, '{"url": '),),
            True,
            "Not yet: CheckAboutPage's UserParameters must point at",
        ),
        (
            (pipelines.lambda_action("CheckAboutPage", HEALTH, f"{SITE}/about.html"),),
            True,
            "Not yet: about.html doesn't contain 'Congratulations'",
        ),
        (
            (
                pipelines.lambda_action(
                    "CheckAboutPage",
                    HEALTH,
                    pipelines.user_parameters(f"{SITE}/about.html", "About this sample"),
                ),
            ),
            True,
            "✓ LambdaStage has a second check: CheckAboutPage looks for 'About this sample'.",
        ),
    ],
)
def test_second_page_action_check(extra, with_stage, verdict, capsys):
    book = _Book()
    book._codepipeline.declaration = _pipeline(book, *extra, with_stage=with_stage)
    lambda_action.check_second_page_action(book)
    assert capsys.readouterr().out.startswith(verdict)


def test_second_page_action_in_the_wrong_stage_is_named(capsys):
    """04's exercise done in the Deploy stage: the check names the stage and says what to do."""
    book = _Book()
    declaration = _pipeline(book, with_stage=True)
    about = pipelines.lambda_action("CheckAboutPage", HEALTH, f"{SITE}/about.html")
    book._codepipeline.declaration = pipelines.add_action(declaration, "Deploy", about)
    lambda_action.check_second_page_action(book)
    said = capsys.readouterr().out
    assert said.startswith("Not yet: CheckAboutPage is in the Deploy stage, not LambdaStage")
    assert 'pipelines.add_action(declaration, "LambdaStage", action)' in said


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        (None, "Not yet: set `user_parameters`"),
        ("deployed using AWS CodePipeline", "Not yet: use the JSON form"),
        (
            json.dumps({"url": f"{SITE}/other.html", "expect": "x"}),
            "Not yet: url must be the site's URL",
        ),
        (json.dumps({"url": f"{SITE}/index.html"}), "Not yet: choose an expect text"),
        (
            json.dumps({"url": f"{SITE}/index.html", "expect": "Congratulations"}),
            "Not yet: choose an expect text",
        ),
        (
            json.dumps({"url": f"{SITE}/index.html", "expect": "Hello, world"}),
            "Not yet: 'Hello, world' is not on the page",
        ),
        (
            json.dumps({"url": f"{SITE}/index.html", "expect": "deployed using AWS CodePipeline"}),
            "✓ the function would look for 'deployed using AWS CodePipeline'",
        ),
    ],
)
def test_user_parameters_check(value, verdict, capsys):
    health_check.check_user_parameters(_Book(), value)
    assert capsys.readouterr().out.startswith(verdict)
