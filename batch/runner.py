"""``run_batch``: every item of a folder, .zip or manifest edited once, resumably, in parallel.

The parent reads each item, hashes it and hands it to the pool, keeping only a few items in flight
(so hashing overlaps the edits and memory stays flat); the workers decode, edit, encode and write.
Items with the same content and instruction are edited once and the result copied. Each result is
journaled as it lands (batch/journal.py), so the same command run again after a crash or Ctrl-C
skips what is done. The CLI and the service's batch job are thin adapters over this.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from batch.items import BatchItem, Inputs, open_inputs
from batch.journal import Journal, JournalEntry
from batch.manifest import in_language
from batch.output import OutputTarget, copy_atomic
from batch.pool import WorkerPool
from batch.report import WRITTEN, BatchReport, ItemReport, Translated
from batch.work import EditOutcome, EditTask, ItemEditor, WorkerConfig, theme_plan
from engine import Editor, EditPlan
from engine.translation import Glossary, load_glossary, translation_target
from engine.types import CancelToken, ProgressCallback
from imgedit.config import get_settings
from imgedit.errors import BadInputError, EngineError, ImgEditError
from plugins.pptx.pool import default_workers

#: Items handed to the pool ahead of the free workers, so none waits for the parent's reading.
AHEAD_PER_WORKER = 2
#: How often a batch waiting for its workers looks at its cancel token (seconds).
CANCEL_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class BatchOptions:
    """``prompt`` or ``theme`` for every item (a manifest may instead give each row its own)."""

    prompt: str | None = None
    theme: str | None = None
    engine: str | None = None
    glossary: Path | None = None
    seed: int = 0
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.prompt is not None and self.theme is not None:
            raise BadInputError("Give one of --prompt or --theme, not both.")
        if self.workers is not None and self.workers < 1:
            raise BadInputError("--workers must be at least 1.")


def edit_key(data: bytes, item: BatchItem, options: BatchOptions, glossary_digest: str) -> str:
    """The edit's identity: same picture, same instruction, same settings -> same result."""
    identity = {
        "content": hashlib.sha256(data).hexdigest(),
        "instruction": item.instruction or f"theme:{options.theme}",
        "engine": options.engine or get_settings().engine,
        "glossary": glossary_digest,
        "seed": options.seed,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def worker_config(options: BatchOptions) -> WorkerConfig:
    """What every worker is given, the glossary read (and refused if it is not one) up front."""
    glossary = load_glossary(options.glossary) if options.glossary else None
    return WorkerConfig(
        engine=options.engine,
        glossary=glossary.pairs if glossary else (),
        seed=options.seed,
        theme=options.theme,
    )


def glossary_digest(config: WorkerConfig) -> str:
    return Glossary(config.glossary).digest if config.glossary else ""


def check_shared_instruction(inputs: Inputs, options: BatchOptions, editor: ItemEditor) -> EditPlan | None:
    """One instruction for every picture: refuse it once, up front, rather than once per picture.
    Returns its plan when every picture shares one (not a translation: that is planned per picture)."""
    if inputs.kind == "manifest":
        return None
    if options.prompt is None and options.theme is None:
        raise BadInputError(
            "Say what to do with every picture: --prompt TEXT or --theme NAME "
            "(or give a .csv manifest with an instruction per picture)."
        )
    if options.theme is not None:
        return theme_plan(options.theme)
    prompt = options.prompt or ""
    if translation_target(prompt) is not None:
        if not editor.config.glossary and not editor.model_configured:
            raise BadInputError(
                in_language(
                    prompt,
                    f"'{prompt}' asks for a translation, but there is no glossary and no model to "
                    "translate with.",
                    f"“{prompt}”要求翻译，但既没有术语表，也没有可用的翻译模型。",
                ),
                hint=in_language(
                    prompt,
                    "Give --glossary FILE.csv (source,target phrases), or set IMGEDIT_LLM=openai "
                    "with IMGEDIT_LLM_BASE_URL.",
                    "请用 --glossary 给出术语表（CSV：source,target），或设置 IMGEDIT_LLM=openai "
                    "和 IMGEDIT_LLM_BASE_URL。",
                ),
            )
        return None
    return editor.parse(prompt)


def _item_report(item: BatchItem, **fields: Any) -> ItemReport:
    return ItemReport(
        name=item.name, output=item.output, instruction=item.instruction, row=item.row, **fields
    )


def _from_outcome(item: BatchItem, outcome: EditOutcome, status: str) -> ItemReport:
    return _item_report(
        item,
        status=status,
        reason=outcome.reason,
        exit_code=outcome.exit_code,
        engine=outcome.engine,
        operations=list(outcome.operations),
        seconds=outcome.seconds,
        warnings=list(outcome.warnings),
        translated=[Translated(**t) for t in outcome.translated],
        untranslated=list(outcome.untranslated),
    )


class _Run:
    """The state of one batch run: reports in item order, the journal, the work in flight."""

    def __init__(
        self,
        inputs: Inputs,
        target: OutputTarget,
        options: BatchOptions,
        report: BatchReport,
        cancel: CancelToken | None,
    ) -> None:
        self.inputs = inputs
        self.cancel = cancel
        self.target = target
        self.options = options
        self.report = report
        self.journal = Journal(target.state)
        self.earlier = self.journal.load()
        self.reports: list[ItemReport | None] = [None] * len(inputs.items)
        self.primary: dict[str, int] = {}  # key -> index of the item edited for it
        self.copies: list[tuple[int, str]] = []  # (index, key) of items reusing another's result
        self.in_flight: dict[Future[EditOutcome], int] = {}
        self.done = 0

    def settle(self, future: Future[EditOutcome], progress: ProgressCallback | None) -> None:
        index = self.in_flight.pop(future)
        item = self.inputs.items[index]
        outcome = future.result()
        if outcome.exit_code != 1:  # failures of ours are retried by the next run
            written = item.output if outcome.status != "failed" else ""
            self.journal.append(JournalEntry(**asdict(outcome), output=written))
        self.report.engine_calls += 1
        self.finish(index, _from_outcome(item, outcome, outcome.status), progress)

    def finish(self, index: int, item_report: ItemReport, progress: ProgressCallback | None) -> None:
        self.reports[index] = item_report
        self.done += 1
        if progress is not None:
            progress(self.done, len(self.reports))

    def resume(self, index: int, entry: JournalEntry, progress: ProgressCallback | None) -> bool:
        """Take an earlier run's result for this item, if its file is still there."""
        item = self.inputs.items[index]
        if entry.status != "failed":
            done = self.target.result_path(entry.output)
            if not done.is_file():
                return False
            if entry.output != item.output:
                copy_atomic(done, self.target.result_path(item.output))
        status = "resumed" if entry.status in ("edited", "unchanged") else entry.status
        self.finish(index, _from_outcome(item, entry, status), progress)
        return True


def check_batch(source: Path, options: BatchOptions, *, editor: Editor | None = None) -> int:
    """What a submission checks before queueing: the input opens (a zip's directory is sound, a
    manifest reads), it holds pictures, and a shared instruction or theme can be done. Returns the
    number of items; raises ``BadInputError`` naming the problem."""
    with open_inputs(Path(source), prompt=options.prompt, theme=options.theme) as inputs:
        check_shared_instruction(inputs, options, ItemEditor(worker_config(options), editor))
        return len(inputs.items)


def run_batch(
    source: Path,
    output: Path,
    options: BatchOptions,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    editor: Editor | None = None,
) -> BatchReport:
    """Edit every item of ``source`` into ``output`` (a folder or a .zip); see the module docstring.

    A bad INPUT as a whole (missing, not a folder/zip/csv, a manifest without a file column, an
    instruction that cannot be done at all) raises ``BadInputError`` before anything is written;
    a bad item is reported in its ``ItemReport`` and the others go on. ``cancel`` stops the batch
    after the edits under way (``EditCancelledError``); what was finished is journaled, so the same
    call resumes it. ``editor``: an ``Editor`` to use (with one worker, the edits run on it, in a
    thread of this process: what a service job does, whose process must not fork).
    """
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise BadInputError(
            f"The output {output} is the input itself; write the results to another folder or a .zip."
        )
    config = worker_config(options)
    skip = [output, OutputTarget.state_for(output)]
    with open_inputs(source, prompt=options.prompt, theme=options.theme, skip=skip) as inputs:
        item_editor = ItemEditor(config, editor)
        shared_plan = check_shared_instruction(inputs, options, item_editor)
        workers = min(options.workers or default_workers(), len(inputs.items))
        if item_editor.editor.engine_name != "classic" and item_editor.editor.qwen_available():
            # One GPU model, loaded once: its edits take the GPU one at a time, and CUDA does not
            # survive a fork. The parent's thread runs them.
            workers = 1
        if shared_plan is not None and workers > 1:
            item_editor.warm_up(shared_plan)
        report = BatchReport(input=str(source), output=str(output), workers=workers)
        run = _Run(inputs, OutputTarget(output), options, report, cancel)
        digest = glossary_digest(config)
        if progress is not None:
            progress(0, len(inputs.items))
        try:
            with WorkerPool(item_editor, workers) as pool:
                for index, item in enumerate(inputs.items):
                    _dispatch(run, pool, index, item, digest, workers, progress)
                while run.in_flight:
                    _settle_some(run, progress)
        except BrokenExecutor as exc:
            raise EngineError(
                f"A worker process died ({exc}); {run.done} of {len(inputs.items)} item(s) were finished.",
                hint="Run the same command again to resume (with fewer --workers if memory ran out).",
            ) from exc
        finally:
            run.journal.close()
        for index, key in run.copies:
            run.reports[index] = _copy_result(run, index, key)
            run.done += 1
            if progress is not None:
                progress(run.done, len(run.reports))
        report.items = [item_report for item_report in run.reports if item_report is not None]
        run.target.finish([r.output for r in report.items if r.status in WRITTEN])
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _dispatch(
    run: _Run,
    pool: WorkerPool,
    index: int,
    item: BatchItem,
    digest: str,
    workers: int,
    progress: ProgressCallback | None,
) -> None:
    if run.cancel is not None:
        run.cancel.raise_if_cancelled()
    if item.error is not None:
        run.finish(index, _item_report(item, status="failed", reason=item.error, exit_code=2), progress)
        return
    try:
        data = run.inputs.read(item)
    except ImgEditError as exc:
        run.finish(
            index, _item_report(item, status="failed", reason=str(exc), exit_code=exc.exit_code), progress
        )
        return
    key = edit_key(data, item, run.options, digest)
    if key in run.primary:
        run.copies.append((index, key))
        return
    run.primary[key] = index
    entry = run.earlier.get(key)
    if entry is not None and run.resume(index, entry, progress):
        return
    while len(run.in_flight) >= workers * AHEAD_PER_WORKER:
        _settle_some(run, progress)
    task = EditTask(
        key=key,
        name=item.name,
        data=data,
        instruction=item.instruction,
        output_path=str(run.target.result_path(item.output)),
    )
    run.in_flight[pool.submit(task)] = index


def _settle_some(run: _Run, progress: ProgressCallback | None) -> None:
    """Take the results of the edits that finish next (stopping if the batch is cancelled)."""
    finished: set[Future[EditOutcome]] = set()
    while not finished:
        if run.cancel is not None:
            run.cancel.raise_if_cancelled()
        finished, _ = wait(list(run.in_flight), timeout=CANCEL_POLL_SECONDS, return_when=FIRST_COMPLETED)
    for future in finished:
        run.settle(future, progress)


def _copy_result(run: _Run, index: int, key: str) -> ItemReport:
    """An item with the same picture and instruction as an earlier one: its result, copied."""
    item = run.inputs.items[index]
    first_index = run.primary[key]
    first = run.reports[first_index]
    assert first is not None
    same_as = run.inputs.items[first_index].name
    if first.status not in WRITTEN:
        return _item_report(
            item, status="failed", reason=first.reason, exit_code=first.exit_code, same_as=same_as
        )
    copy_atomic(run.target.result_path(first.output), run.target.result_path(item.output))
    status = "partial" if first.status == "partial" else "reused"
    return _item_report(
        item,
        status=status,
        reason=first.reason if status == "partial" else "",
        engine=first.engine,
        operations=list(first.operations),
        same_as=same_as,
        translated=list(first.translated),
        untranslated=list(first.untranslated),
    )
