"""``--dry-run``: for every row, what would be done and what would be refused, editing nothing.

Each picture is read and decoded (a corrupt or oversized one would be refused), its instruction
planned (placeholders filled, parsed, the engine chosen), and a translation's phrases looked up
in the glossary (OCR runs; the model is not asked, the phrases it would be asked for are named).
Duplicates and items an earlier run finished are shown as such. Nothing is written.
"""

from __future__ import annotations

import time
from pathlib import Path

from batch.items import open_inputs
from batch.journal import JOURNAL_NAME, Journal
from batch.output import OutputTarget
from batch.report import BatchReport, ItemReport, Translated
from batch.runner import BatchOptions, check_shared_instruction, edit_key, glossary_digest, worker_config
from batch.work import ItemEditor, decode_upright, nothing_to_translate, untranslated_message
from imgedit.errors import ImgEditError
from plugins.pptx.pool import default_workers


def plan_batch(source: Path, output: Path | None, options: BatchOptions) -> BatchReport:
    started = time.perf_counter()
    source = Path(source)
    config = worker_config(options)
    skip = [output, OutputTarget.state_for(output)] if output else []
    earlier = {}
    if output is not None and (OutputTarget.state_for(output) / JOURNAL_NAME).is_file():
        earlier = Journal(OutputTarget.state_for(output)).load()
    with open_inputs(source, prompt=options.prompt, theme=options.theme, skip=skip) as inputs:
        editor = ItemEditor(config)
        check_shared_instruction(inputs, options, editor)
        report = BatchReport(
            input=str(source),
            output=str(output) if output else None,
            workers=min(options.workers or default_workers(), len(inputs.items)),
            dry_run=True,
        )
        first: dict[str, str] = {}
        for item in inputs.items:
            entry = ItemReport(
                name=item.name, output=item.output, instruction=item.instruction, row=item.row, status="edit"
            )
            report.items.append(entry)
            if item.error is not None:
                entry.status, entry.reason, entry.exit_code = "refuse", item.error, 2
                continue
            try:
                data = inputs.read(item)
                key = edit_key(data, item, options, glossary_digest(config))
                if key in first:
                    entry.status, entry.same_as = "reuse", first[key]
                    continue
                first[key] = item.name
                if key in earlier and earlier[key].status != "failed":
                    entry.status = "resume"
                    continue
                decoded = decode_upright(data, item.name, max_pixels=editor.editor.settings.max_image_pixels)
                planned = editor.plan(decoded.image, item.instruction, ask_model=False)
                translation = planned.translation
                if translation is not None:
                    entry.translated = [Translated(t.source, t.target, t.by) for t in translation.translated]
                    if editor.model_configured:
                        entry.warnings = [
                            f"the model would be asked to translate '{p}'" for p in translation.untranslated
                        ]
                    else:
                        entry.untranslated = list(translation.untranslated)
                if planned.plan is None:
                    if entry.untranslated:
                        entry.status, entry.exit_code = "refuse", 2
                        entry.reason = untranslated_message(item.instruction, entry.untranslated)
                    else:
                        entry.reason = nothing_to_translate(item.instruction)
                    continue
                entry.operations = planned.plan.kinds
                entry.engine = editor.editor.choose_backend(planned.plan).name
                if entry.untranslated:
                    entry.reason = untranslated_message(item.instruction, entry.untranslated)
            except ImgEditError as exc:
                entry.status, entry.reason, entry.exit_code = "refuse", str(exc), exc.exit_code
    report.seconds = round(time.perf_counter() - started, 3)
    return report
