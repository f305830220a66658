"""ipywidgets for the parts a person would rather click.

Each widget shows its state through trait updates, never through clear_output or display
updates, so a notebook that displays one and then prints a plain line compares cleanly under
nbval while JupyterLab shows the live widget.
"""

from __future__ import annotations

import html
import threading
import time

import ipywidgets as widgets

from . import pipelines
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
}


def _badge(status: str) -> str:
    colour = COLOURS.get(status, "#9e9e9e")
    return (
        f'<span style="background:{colour};color:white;border-radius:3px;'
        f'padding:1px 6px;font-size:85%">{html.escape(status)}</span>'
    )


class PipelineView(widgets.VBox):
    """Stages and actions coloured by status, each action's summary, and a Details toggle
    that shows the log events of a Lambda action's latest run (the console's Details link)."""

    def __init__(self, book: Workbook, pipeline: str | None = None):
        self.book = book
        self.pipeline = pipeline or book.names.pipeline
        self.title = widgets.HTML("<b>Pipeline</b>")
        self.stages = widgets.VBox()
        super().__init__([self.title, self.stages])

    def _state(self) -> dict:
        return self.book.client("codepipeline").get_pipeline_state(name=self.pipeline)

    def refresh(self) -> dict:
        """Redraw from GetPipelineState; returns the state."""
        state = self._state()
        declaration = pipelines.get_declaration(self.book.client("codepipeline"), self.pipeline)
        functions = {
            a["name"]: a["configuration"].get("FunctionName")
            for s in declaration["stages"]
            for a in s["actions"]
            if a["actionTypeId"]["provider"] == "Lambda"
        }
        self.title.value = f"<b>{html.escape(self.pipeline)}</b>"
        boxes = []
        for stage in state["stageStates"]:
            status = stage.get("latestExecution", {}).get("status", "—")
            rows = [widgets.HTML(f"<b>{html.escape(stage['stageName'])}</b> {_badge(status)}")]
            for action in stage["actionStates"]:
                latest = action.get("latestExecution", {})
                text = (latest.get("errorDetails") or {}).get("message") or latest.get(
                    "summary", ""
                )
                rows.append(
                    widgets.HTML(
                        f"&nbsp;&nbsp;{html.escape(action['actionName'])} "
                        f"{_badge(latest.get('status', '—'))} "
                        f"<span style='color:#555'>{html.escape(text or '')}</span>"
                    )
                )
                function = functions.get(action["actionName"])
                if function and latest:
                    rows.append(self._details(function, stage["stageName"], action))
            boxes.append(
                widgets.VBox(rows, layout=widgets.Layout(border="1px solid #ddd", padding="4px"))
            )
        self.stages.children = tuple(boxes)
        return state

    def _details(self, function: str, stage: str, action: dict) -> widgets.Widget:
        toggle = widgets.ToggleButton(description="Details", value=False, icon="file-text")
        output = widgets.HTML()

        def show(change) -> None:
            if not change["new"]:
                output.value = ""
                return
            output.value = "<pre>" + html.escape(
                self.action_log_text(function, stage, action["actionName"])
            )
            output.value += "</pre>"

        toggle.observe(show, names="value")
        return widgets.VBox([toggle, output])

    def action_log_text(self, function: str, stage: str, action: str) -> str:
        """The log events of the action's latest run, one line each."""
        codepipeline = self.book.client("codepipeline")
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
            self.book.client("logs"),
            function,
            latest["startTime"],
            latest["lastUpdateTime"],
            wait_s=2.0,  # a click shouldn't freeze the notebook while an action still runs
        )
        return "\n".join(e["message"] for e in events) or "(no log events yet)"

    def watch(self, execution_id: str, poll: float | None = None) -> dict:
        """Redraw until the execution finishes; returns the finished execution."""
        codepipeline = self.book.client("codepipeline")
        poll = poll or (0.1 if self.book.target == "local" else 2.0)
        while True:
            self.refresh()
            execution = codepipeline.get_pipeline_execution(
                pipelineName=self.pipeline, pipelineExecutionId=execution_id
            )["pipelineExecution"]
            if execution["status"] in pipelines.FINISHED:
                self.refresh()
                return execution
            time.sleep(poll)


class ReleasePanel(widgets.VBox):
    """A "Release change" button above a PipelineView; a click starts an execution and the
    view follows it in the background."""

    def __init__(self, book: Workbook, pipeline: str | None = None):
        self.book = book
        self.view = PipelineView(book, pipeline)
        self.button = widgets.Button(
            description="Release change", button_style="primary", icon="play"
        )
        self.status = widgets.HTML("")
        self.last_execution: dict | None = None
        self.button.on_click(lambda _: self._start_in_background())
        super().__init__([widgets.HBox([self.button, self.status]), self.view])

    def release(self) -> dict:
        """Release change and follow it to the end (what the button does, in the foreground)."""
        codepipeline = self.book.client("codepipeline")
        execution_id = codepipeline.start_pipeline_execution(name=self.view.pipeline)[
            "pipelineExecutionId"
        ]
        return self.follow(execution_id)

    def follow(self, execution_id: str) -> dict:
        """Show an execution's progress (a release, or a retried one) until it finishes."""
        self.button.disabled = True
        try:
            self.status.value = f"Release {execution_id[:8]}… in progress"
            self.last_execution = self.view.watch(execution_id)
            self.status.value = (
                f"Release {execution_id[:8]}…: {_badge(self.last_execution['status'])}"
            )
            return self.last_execution
        finally:
            self.button.disabled = False

    def _start_in_background(self) -> None:
        threading.Thread(target=self.release, daemon=True).start()


class HealthCheckForm(widgets.VBox):
    """The URL and the expected text of the health check, turned into UserParameters."""

    def __init__(self, url: str, expect: str = "Congratulations"):
        self.url = widgets.Text(value=url, description="URL", layout=widgets.Layout(width="90%"))
        self.expect = widgets.Text(value=expect, description="Expect")
        self.preview = widgets.HTML()
        self.apply_button = widgets.Button(description="Use these settings", icon="check")
        self.applied: str | None = None
        for field in (self.url, self.expect):
            field.observe(lambda _: self._update_preview(), names="value")
        self.apply_button.on_click(lambda _: self.apply())
        self._update_preview()
        super().__init__([self.url, self.expect, self.preview, self.apply_button])

    @property
    def user_parameters(self) -> str:
        return pipelines.user_parameters(self.url.value.strip(), self.expect.value)

    def _update_preview(self) -> None:
        self.preview.value = f"UserParameters: <code>{html.escape(self.user_parameters)}</code>"

    def apply(self) -> str:
        """Remember the current settings (the notebook's next cell puts them in the pipeline)."""
        self.applied = self.user_parameters
        self.apply_button.description = "Settings saved"
        return self.applied
