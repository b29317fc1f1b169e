"""Themes (the style templates the page shows as buttons) and deck restyling jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.concurrency import run_in_threadpool

from imgedit.errors import BadInputError
from server.deps import Caller, Ctx
from server.edits import job_json
from server.routes.jobs import idempotency
from server.scheduler import JobSpec
from server.uploads import read_upload

router = APIRouter(prefix="/v1", tags=["themes and decks"])

ZIP_MAGIC = b"PK\x03\x04"


@router.get("/themes", summary="The style templates, in English and Chinese")
def themes(ctx: Ctx, who: Caller) -> dict[str, Any]:
    from engine.themes import list_themes

    return {
        "themes": [
            {"name": t.name, "name_en": t.name_en, "name_zh": t.name_zh, "description": t.description}
            for t in list_themes(ctx.settings.themes_dir)
        ]
    }


@router.post(
    "/decks", status_code=202, summary="Queue a deck restyle (multipart `file`, `theme` or `prompt`)"
)
async def create_deck(
    ctx: Ctx,
    who: Caller,
    file: Annotated[UploadFile, File(description="A .pptx deck.")],
    theme: Annotated[str | None, Form(max_length=100)] = None,
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    engine: Annotated[str | None, Form(pattern="^(auto|classic|qwen)$")] = None,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
    slides: Annotated[str | None, Form(max_length=200)] = None,
    priority: Annotated[int, Form(ge=-10, le=10)] = 0,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Returns ``{"job_id"}``; the restyled deck is ``GET /v1/jobs/{id}/result`` once done."""
    key = idempotency(idempotency_key)
    data = await read_upload(file, ctx.settings.max_upload_bytes)
    if not data.startswith(ZIP_MAGIC):
        raise BadInputError(f"{file.filename or 'The upload'} is not a .pptx file (not a zip archive).")

    def submit() -> dict[str, Any]:
        from plugins.pptx import RestyleOptions
        from plugins.pptx.options import build_plan

        options = RestyleOptions(theme=theme, prompt=prompt, engine=engine or ctx.settings.engine, seed=seed)
        editor = ctx.editors.get(options.engine or "classic")
        backend = editor.choose_backend(build_plan(editor, options))  # 4xx now for a bad theme/prompt
        params = {"theme": theme, "prompt": prompt, "engine": backend.name, "seed": seed, "slides": slides}
        spec = JobSpec(
            tenant=who.tenant,
            kind="deck",
            pool="qwen" if backend.name == "qwen" else "classic",
            params=params,
            input_blob=ctx.store.blobs.put(data),
            priority=priority,
            idempotency_key=key,
        )
        return job_json(ctx.queue.submit(spec))

    return await run_in_threadpool(submit)
