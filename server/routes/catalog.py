"""Themes (the style templates the page shows as buttons) and deck restyling jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from engine.parsing.language import reply_language
from imgedit.errors import answered_in
from jobs.deck import DECK, DeckParams, deck_params
from server.deps import Caller, Ctx
from server.edits import job_json, submit_upload
from server.routes.jobs import idempotency
from server.schemas import JobOut
from server.uploads import read_upload

router = APIRouter(prefix="/v1", tags=["themes and decks"])


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
    "/decks",
    status_code=202,
    response_model=JobOut,
    response_model_exclude_unset=True,
    summary="Queue a deck restyle (multipart `file`, `theme` or `prompt`)",
)
async def create_deck(
    request: Request,
    ctx: Ctx,
    who: Caller,
    file: Annotated[UploadFile, File(description="A .pptx deck.")],
    theme: Annotated[str | None, Form(max_length=100)] = None,
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    engine: Annotated[str | None, Form(pattern="^(auto|classic|qwen)$")] = None,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
    slides: Annotated[str | None, Form(max_length=200)] = None,
    priority: Annotated[int, Form(ge=-10, le=10)] = 0,
    pictures: Annotated[str | None, Form(pattern="^(photos|all)$")] = None,
    theme_colors: Annotated[bool, Form()] = False,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JobOut:
    """Returns ``{"job_id"}`` at once. Progress (per distinct picture) comes over ``/v1/ws`` to a
    socket that subscribes to the job; the restyled deck is ``GET /v1/jobs/{id}/result`` once done.
    A deck that cannot be read (not a zip, damaged, a zip bomb, hostile XML) or a bad slide range is
    refused here with a 4xx. ``pictures``: ``photos`` (logos, charts and diagrams keep their
    colours; the default for a theme) or ``all`` (the default for a prompt); ``theme_colors`` also
    grades the deck's colour scheme with the theme."""
    key = idempotency(idempotency_key)
    data = await read_upload(file, ctx.settings.max_upload_bytes)

    def params() -> DeckParams:
        with answered_in(reply_language(prompt or theme or "")):
            return deck_params(
                ctx.editors,
                ctx.settings,
                data=data,
                filename=file.filename,
                theme=theme or None,
                prompt=prompt or None,
                engine=engine,
                seed=seed,
                slides=slides or None,
                pictures=pictures,
                theme_colors=theme_colors,
            )

    info = await run_in_threadpool(
        submit_upload, ctx, who.tenant, DECK, data, params, priority=priority, idempotency_key=key
    )
    return job_json(info, request)
