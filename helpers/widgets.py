"""ipywidgets for the parts a person would rather click.

Each widget shows its state through trait updates, never through clear_output or display
updates, so a notebook that displays one and then prints a plain line compares cleanly under
nbval while JupyterLab shows the live widget. Widgets are built once and updated in place: a
refresh sets the values that changed and creates widgets only for stages or actions that are
new, so a Details toggle stays open (and clickable) while a release runs.

Where a widget can't be shown live — a reopened notebook, an untrusted one, a kernel that
restarted — it shows one plain line instead: its ``repr`` (what an untrusted notebook or nbval
shows), and the lab's ``lab/custom/custom.css`` for widgets whose kernel has gone (they carry
the ``wb-widget`` class).
"""

from __future__ import annotations

import html
import importlib
import sys
import threading
import time
from types import ModuleType

import ipywidgets as widgets

from . import packaging, pipelines
from . import workbook as wb
from .workbook import Workbook

COLOURS = {
    "Succeeded": "#2e7d32",
    "Failed": "#c62828",
    "InProgress": "#1565c0",
    "Stopped": "#6d4c41",
    "Stopping": "#6d4c41",
    "Abandoned": "#6d4c41",
    "Superseded": "#757575",
    "—": "#9e9e9e",
    "unknown": "#9e9e9e",
}
WIDGET_CLASS = "wb-widget"  # lab/custom/custom.css: one plain line once the kernel is gone
FOLLOW_BOUND_S = 30 * 60  # a release that never finishes must not keep a thread forever
ERROR_STYLE = "color:#c62828"


def _text(value: str) -> str:
    """Text for HTML content: <, > and & escaped (quotes read better as they are)."""
    return html.escape(value, quote=False)


def _badge(status: str) -> str:
    colour = COLOURS.get(status, "#9e9e9e")
    return (
        f'<span style="background:{colour};color:white;border-radius:3px;'
        f'padding:1px 6px;font-size:85%">{_text(status)}</span>'
    )


def _stage_header(name: str, status: str) -> str:
    """A stage's name and status (the data- attributes are for tests and screen readers)."""
    return (
        f"<span class='wb-stage' data-stage='{html.escape(name, quote=True)}' "
        f"data-status='{html.escape(status, quote=True)}'><b>{_text(name)}</b> "
        f"{_badge(status)}</span>"
    )


def _close(widget: widgets.Widget) -> None:
    """Close a widget and everything in it, so nothing of a removed row stays alive."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


def _set(widget: widgets.Widget, value) -> None:
    """Change a widget's value only when it differs: no message to the browser otherwise."""
    if widget.value != value:
        widget.value = value


def explain(error: BaseException, pipeline: str | None = None) -> str:
    """One line saying what went wrong and what to do, for an error a widget caught."""
    lost = wb.connection_lost(error)
    if lost:
        return lost
    details = getattr(error, "response", {}).get("Error", {})
    code = details.get("Code")
    if code == "PipelineNotFoundException":
        name = f"{pipeline} " if pipeline else ""
        return (
            f"✗ The pipeline {name}doesn't exist (notebook 08 deletes it): run this notebook "
            "again from its first cell, which creates it again."
        )
    if code:
        return f"✗ {code}: {details.get('Message', '')}"
    return f"✗ {type(error).__name__}: {error}"


class _PlainRepr:
    """One plain line where the live widget can't be shown (an untrusted or reopened notebook,
    nbval's text/plain): what the widget is and what to run. No port or id, so it's the same on
    every run."""

    what = "A widget"

    def __repr__(self) -> str:
        return f"{self.what} (a live widget: run this cell to show it)"


class _ActionRow(widgets.VBox):
    """One action: its status, its summary or error, and a Details toggle for Lambda actions."""

    def __init__(self, view: PipelineView, stage: str, action: str, function: str | None):
        self.view, self.stage, self.action, self.function = view, stage, action, function
        self.line = widgets.HTML()
        self.latest: dict = {}
        self._shown_run: tuple | None = None
        children: list[widgets.Widget] = [self.line]
        if function:
            self.toggle = widgets.ToggleButton(description="Details", icon="file-text")
            self.details = widgets.HTML()
            self.toggle.observe(lambda _: self._show_details(), names="value")
            children += [self.toggle, self.details]
        super().__init__(children)
        self.add_class("wb-action-row")

    def update(self, latest: dict, status: str | None = None) -> None:
        self.latest = latest
        text = (latest.get("errorDetails") or {}).get("message") or latest.get("summary", "")
        status = status or latest.get("status", "—")
        _set(
            self.line,
            f"<span class='wb-action' data-stage='{html.escape(self.stage, quote=True)}' "
            f"data-action='{html.escape(self.action, quote=True)}' "
            f"data-status='{html.escape(status, quote=True)}'>"
            f"&nbsp;&nbsp;{_text(self.action)} {_badge(status)} "
            f"<span style='color:#555'>{_text(text or '')}</span></span>",
        )
        if self.function and self.toggle.value:
            run = (latest.get("actionExecutionId"), latest.get("status"))
            if run != self._shown_run:  # a new run, or the open one finished: show its log
                self._show_details()

    def _show_details(self) -> None:
        if not self.toggle.value:
            _set(self.details, "")
            self._shown_run = None
            return
        self._shown_run = (self.latest.get("actionExecutionId"), self.latest.get("status"))
        try:
            text = self.view.action_log_text(self.function, self.stage, self.action)
        except Exception as error:  # shown where the learner clicked, not lost in a thread
            _set(self.details, f"<span style='{ERROR_STYLE}'>{_text(explain(error))}</span>")
            return
        _set(self.details, "<pre>" + _text(text) + "</pre>")


class _StageRow(widgets.VBox):
    """A stage: its name and status, then its actions."""

    def __init__(self, name: str):
        self.name = name
        self.header = widgets.HTML()
        self.actions: dict[str, _ActionRow] = {}
        super().__init__(
            [self.header], layout=widgets.Layout(border="1px solid #ddd", padding="4px")
        )


class PipelineView(_PlainRepr, widgets.VBox):
    """Stages and actions coloured by status, each action's summary, and a Details toggle
    that shows the log events of a Lambda action's latest run (the console's Details link).

    It shows the pipeline's current state as soon as it is made; ``refresh`` updates it."""

    def __init__(self, book: Workbook, pipeline: str | None = None, show_now: bool = True):
        self.book = book
        self.pipeline = pipeline or book.names.pipeline
        self.what = f"Pipeline view of {self.pipeline}"
        self.title = widgets.HTML(f"<b>{_text(self.pipeline)}</b>")
        self.message = widgets.HTML()
        self.stages = widgets.VBox()
        self.timeline = widgets.HTML()
        self._rows: dict[str, _StageRow] = {}
        self._functions: tuple[int | None, dict[str, str]] = (None, {})
        self._lock = threading.RLock()
        super().__init__([self.title, self.message, self.stages, self.timeline])
        self.add_class(WIDGET_CLASS)
        if show_now:
            self.try_refresh()

    def _client(self, service: str):
        return self.book.client(service)

    def _lambda_functions(self, version: int | None) -> dict[str, str]:
        """Action name -> function name of the Lambda actions (read again when the pipeline's
        version changes)."""
        if self._functions[0] != version or version is None:
            declaration = pipelines.get_declaration(self._client("codepipeline"), self.pipeline)
            self._functions = (
                declaration.get("version"),
                {
                    a["name"]: a["configuration"].get("FunctionName")
                    for s in declaration["stages"]
                    for a in s["actions"]
                    if a["actionTypeId"]["provider"] == "Lambda"
                },
            )
        return self._functions[1]

    def refresh(self) -> dict:
        """Update from GetPipelineState (in place); returns the state. Raises what the call
        raised; ``try_refresh`` shows it in the view instead."""
        with self._lock:
            state = self._client("codepipeline").get_pipeline_state(name=self.pipeline)
            functions = self._lambda_functions(state.get("pipelineVersion"))
            self._show(state, functions)
            _set(self.message, "")
            return state

    def try_refresh(self) -> dict | None:
        """``refresh``, with an error shown in the view (and the stale badges greyed)."""
        try:
            return self.refresh()
        except Exception as error:
            self.show_error(error)
            return None

    def show_error(self, error: BaseException | str) -> None:
        """Say what went wrong above the stages, and mark every badge unknown: the last state
        read is no longer known to be true."""
        text = error if isinstance(error, str) else explain(error, self.pipeline)
        with self._lock:
            _set(self.message, f"<span style='{ERROR_STYLE}'>{_text(text)}</span>")
            for row in self._rows.values():
                _set(row.header, _stage_header(row.name, "unknown"))
                for action in row.actions.values():
                    action.update(action.latest, status="unknown")

    def _show(self, state: dict, functions: dict[str, str]) -> None:
        rows = []
        for stage in state["stageStates"]:
            name = stage["stageName"]
            row = self._rows.get(name) or _StageRow(name)
            self._rows[name] = row
            status = stage.get("latestExecution", {}).get("status", "—")
            _set(row.header, _stage_header(name, status))
            actions = []
            for action in stage["actionStates"]:
                key = action["actionName"]
                function = functions.get(key)
                current = row.actions.get(key)
                if current is None or current.function != function:
                    if current is not None:
                        _close(current)
                    current = _ActionRow(self, name, key, function)
                    row.actions[key] = current
                current.update(action.get("latestExecution", {}))
                actions.append(current)
            for key in set(row.actions) - {a.action for a in actions}:
                _close(row.actions.pop(key))
            children = (row.header, *actions)
            if row.children != children:
                row.children = children
            rows.append(row)
        for name in set(self._rows) - {r.name for r in rows}:
            _close(self._rows.pop(name))
        if self.stages.children != tuple(rows):
            self.stages.children = tuple(rows)

    def action_log_text(self, function: str, stage: str, action: str) -> str:
        """The log events of the action's latest run, one line each."""
        codepipeline = self._client("codepipeline")
        runs = [
            d
            for d in codepipeline.list_action_executions(pipelineName=self.pipeline)[
                "actionExecutionDetails"
            ]
            if d["stageName"] == stage and d["actionName"] == action
        ]
        if not runs:
            return "(no runs yet)"
        latest = max(runs, key=lambda d: d["startTime"])
        events = pipelines.action_log_events(
            self._client("logs"),
            function,
            latest["startTime"],
            latest["lastUpdateTime"],
            wait_s=2.0,  # a click shouldn't freeze the notebook while an action still runs
        )
        return "\n".join(e["message"] for e in events) or "(no log events yet)"

    def watch(self, execution_id: str, poll: float | None = None) -> dict:
        """Update until the execution finishes, then show its timeline; returns the finished
        execution."""
        codepipeline = self._client("codepipeline")
        poll = poll or (0.1 if self.book.target == "local" else 2.0)
        deadline = time.monotonic() + FOLLOW_BOUND_S
        while True:
            self.refresh()
            execution = codepipeline.get_pipeline_execution(
                pipelineName=self.pipeline, pipelineExecutionId=execution_id
            )["pipelineExecution"]
            if execution["status"] in pipelines.FINISHED:
                self.refresh()
                self.show_timeline(execution_id)
                return execution
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_id} is still {execution['status']}")
            time.sleep(poll)

    def show_timeline(self, execution_id: str) -> None:
        """Each action of the execution as a bar from its start to its end: on the local cloud a
        release takes under a second, too fast to watch, so this is what there is to see."""
        runs = pipelines.action_executions(
            self._client("codepipeline"), self.pipeline, execution_id
        )
        _set(self.timeline, timeline_html(execution_id, runs))


def timeline_html(execution_id: str, runs: list[dict]) -> str:
    """An HTML table: one row per action run, with its start, its duration and a bar."""
    if not runs:
        return ""
    runs = sorted(runs, key=lambda r: r["startTime"])
    start = runs[0]["startTime"]
    end = max(r.get("lastUpdateTime") or r["startTime"] for r in runs)
    total = max((end - start).total_seconds(), 1e-3)
    rows = []
    for run in runs:
        began = (run["startTime"] - start).total_seconds()
        took = ((run.get("lastUpdateTime") or run["startTime"]) - run["startTime"]).total_seconds()
        left, width = 100 * began / total, max(100 * took / total, 0.5)
        colour = COLOURS.get(run["status"], "#9e9e9e")
        rows.append(
            "<tr>"
            f"<td>{_text(run['stageName'])} / {_text(run['actionName'])}</td>"
            f"<td>{_badge(run['status'])}</td>"
            f"<td style='text-align:right'>+{began:.2f} s</td>"
            f"<td style='text-align:right'>{took:.2f} s</td>"
            "<td><div style='position:relative;width:240px;height:10px;background:#eee'>"
            f"<div style='position:absolute;left:{left:.1f}%;width:{width:.1f}%;height:100%;"
            f"background:{colour}'></div></div></td></tr>"
        )
    return (
        f"<div><b>Timeline of release {_text(execution_id[:8])}…</b> "
        f"({total:.2f} s, {len(runs)} action runs)</div>"
        "<table><tr><th>stage / action</th><th>status</th><th>start</th><th>took</th>"
        "<th></th></tr>" + "".join(rows) + "</table>"
    )


class ReleasePanel(_PlainRepr, widgets.VBox):
    """A "Release change" button above a PipelineView that shows the pipeline's current state
    at once; a click starts one execution and the view follows it in the background, then
    shows its timeline. Errors are shown in the panel."""

    def __init__(self, book: Workbook, pipeline: str | None = None):
        self.book = book
        self.view = PipelineView(book, pipeline)
        self.what = f"Release panel of {self.view.pipeline}"
        self.button = widgets.Button(
            description="Release change", button_style="primary", icon="play"
        )
        self.status = widgets.HTML("")
        self.status.add_class("wb-release-status")
        self.last_execution: dict | None = None
        self.thread: threading.Thread | None = None
        self._busy = False
        self.button.on_click(self._clicked)
        super().__init__([widgets.HBox([self.button, self.status]), self.view])
        self.add_class(WIDGET_CLASS)
        self.view.remove_class(WIDGET_CLASS)  # one plain line for the panel, not two

    def release(self) -> dict:
        """Release change and follow it to the end (what the button does, in the foreground)."""
        codepipeline = self.book.client("codepipeline")
        try:
            execution_id = codepipeline.start_pipeline_execution(name=self.view.pipeline)[
                "pipelineExecutionId"
            ]
        except Exception as error:
            self.show_error(error)
            raise
        return self.follow(execution_id)

    def follow(self, execution_id: str) -> dict:
        """Show an execution's progress (a release, or a retried one) until it finishes."""
        self.button.disabled = True
        try:
            _set(self.status, f"Release {execution_id[:8]}… in progress")
            self.last_execution = self.view.watch(execution_id)
            _set(
                self.status,
                f"Release {execution_id[:8]}…: {_badge(self.last_execution['status'])}",
            )
            return self.last_execution
        except Exception as error:
            self.show_error(error)
            raise
        finally:
            self.button.disabled = self._busy

    def show_error(self, error: BaseException) -> None:
        text = explain(error, self.view.pipeline)
        _set(self.status, f"<span style='{ERROR_STYLE}'>{_text(text)}</span>")
        self.view.show_error(text)

    def _clicked(self, _button=None) -> None:
        """Clicks arrive one at a time on the kernel's main thread: the first one disables the
        button before anything else, so a double-click starts one release."""
        if self._busy:
            return
        self._busy = True
        self.button.disabled = True
        _set(self.status, "Starting a release…")
        self.thread = threading.Thread(target=self._release_in_background, daemon=True)
        self.thread.start()

    def _release_in_background(self) -> None:
        try:
            self.release()
        except Exception:
            pass  # release() has shown it in the panel
        finally:
            self._busy = False
            self.button.disabled = False


def _function_module(name: str) -> ModuleType:
    """A module of the workbook's Lambda functions, imported as its deployment package has it
    (``page_fetch`` beside ``health_check``), so the form checks with the function's own code."""
    folder = str(packaging.FUNCTIONS)
    if folder not in sys.path:
        sys.path.append(folder)
    return importlib.import_module(name)


class HealthCheckForm(_PlainRepr, widgets.VBox):
    """The URL and the expected text of the health check: checked as the function checks them
    (``health_check.parse_user_parameters``), and put in the pipeline with one click."""

    what = "Health-check form"

    def __init__(
        self,
        book: Workbook | None = None,
        url: str | None = None,
        expect: str = "Congratulations",
        stage: str = "LambdaStage",
        action: str = "MyLambdaAction",
    ):
        self.book = book or wb.current()
        self.stage, self.action = stage, action
        self.url = widgets.Text(
            value=url if url is not None else self.book.site_url(),
            description="URL",
            layout=widgets.Layout(width="90%"),
        )
        self.expect = widgets.Text(value=expect, description="Expect")
        self.check = widgets.HTML()
        self.preview = widgets.HTML()
        self.add_button = widgets.Button(
            description="Add to the pipeline", icon="plus", button_style="primary"
        )
        self.result = widgets.HTML()
        self.added: str | None = None  # the UserParameters the last click put in the pipeline
        for field in (self.url, self.expect):
            field.observe(lambda _: self._changed(), names="value")
        self.add_button.on_click(lambda _: self._clicked())
        self._changed()
        super().__init__(
            [self.url, self.expect, self.check, self.preview, self.add_button, self.result]
        )
        self.add_class(WIDGET_CLASS)

    @property
    def user_parameters(self) -> str:
        return pipelines.user_parameters(self.url.value.strip(), self.expect.value)

    @property
    def error(self) -> str | None:
        """Why the health check would refuse these UserParameters (its own message), or None."""
        health_check = _function_module("health_check")
        try:
            health_check.parse_user_parameters(self.user_parameters)
        except health_check.ConfigurationError as refused:
            return str(refused)
        return None

    def checked_user_parameters(self) -> str:
        """The UserParameters, or ValueError with the health check's reason to refuse them."""
        error = self.error
        if error:
            raise ValueError(error)
        return self.user_parameters

    def _changed(self) -> None:
        error = self.error
        if error:
            _set(self.check, f"<span style='{ERROR_STYLE}'>✗ {_text(error)}</span>")
        else:
            url, expect = _function_module("health_check").parse_user_parameters(
                self.user_parameters
            )
            _set(
                self.check,
                f"✓ The health check will GET {_text(url)} and look for {_text(repr(expect))}.",
            )
        _set(self.preview, f"UserParameters: <code>{_text(self.user_parameters)}</code>")
        self.add_button.disabled = error is not None
        if self.added is not None and self.added != self.user_parameters:
            _set(
                self.result,
                "Changed since you added it: the pipeline still has the previous UserParameters. "
                "Click <b>Add to the pipeline</b> again to update it.",
            )
        elif self.added is None:
            _set(self.result, "")

    def add_to_pipeline(self) -> dict:
        """Put these UserParameters in the pipeline: add the stage with the action if it is
        missing, else replace only that action (the stage's other actions stay). One
        UpdatePipeline, only when something changes; returns the pipeline's declaration."""
        user_parameters = self.checked_user_parameters()
        codepipeline = self.book.client("codepipeline")
        names = self.book.names
        declaration = pipelines.get_declaration(codepipeline, names.pipeline)
        stages = [s["name"] for s in declaration["stages"]]
        action = pipelines.lambda_action(self.action, names.health_function, user_parameters)
        existing = [
            a
            for s in declaration["stages"]
            if s["name"] == self.stage
            for a in s["actions"]
            if a["name"] == self.action
        ]
        if self.stage in stages:
            edited = pipelines.add_action(declaration, self.stage, action)
            what = f"{self.stage} now runs {self.action} with these UserParameters"
        else:
            edited = pipelines.add_lambda_stage(
                declaration, names.health_function, user_parameters, self.stage, self.action
            )
            what = f"added {self.stage}, whose {self.action} runs the health check"
        updated = declaration
        line = (
            "✓ The pipeline already has these UserParameters: nothing to update "
            f"(version {declaration['version']})."
        )
        unchanged = existing and all(
            existing[0].get(key) == action[key] for key in ("actionTypeId", "configuration")
        )
        if not unchanged:
            updated = codepipeline.update_pipeline(pipeline=edited)["pipeline"]
            line = (
                f"✓ UpdatePipeline: {what} (version {declaration['version']} → "
                f"{updated['version']})."
            )
        self.added = user_parameters
        _set(
            self.result,
            f"{_text(line)}<pre>{_text(pipelines.structure(updated))}</pre>"
            "Re-run the cells from <b>The pipeline after</b> down to read it in the declaration; "
            "notebook 05 releases it.",
        )
        return updated

    def _clicked(self) -> None:
        try:
            self.add_to_pipeline()
        except Exception as error:  # shown in the form: a click has nowhere else to report
            self.added = None
            text = str(error) if isinstance(error, ValueError) else explain(error)
            _set(self.result, f"<span style='{ERROR_STYLE}'>{_text(text)}</span>")
