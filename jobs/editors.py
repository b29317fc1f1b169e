"""``Editors``: one ``Editor`` per engine name in a process, and which pool runs an instruction."""

from __future__ import annotations

import functools
import threading

from engine import Editor
from imgedit.config import Settings

#: How many ``(engine, instruction) -> engine`` answers ``Editors`` remembers.
ENGINE_CACHE_SIZE = 1024


class Editors:
    """One ``Editor`` per engine name, built on first use and shared by the jobs of a process.

    It also says which engine runs an instruction (``engine_for``) and remembers the answers, as
    the same instructions come again and again (theme buttons, the page's suggestions, scripts),
    and parsing one to pick the engine took 0.1-0.6 ms of each upload (bench/server_load.py).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._editors: dict[str, Editor] = {}
        self._lock = threading.Lock()
        # Per instance (tests build several apps); errors are raised each time, never cached.
        self.engine_for = functools.lru_cache(maxsize=ENGINE_CACHE_SIZE)(self._engine_for)

    def get(self, engine: str) -> Editor:
        with self._lock:
            if engine not in self._editors:
                self._editors[engine] = Editor(engine=engine, settings=self.settings)
            return self._editors[engine]

    def _engine_for(self, engine: str, instruction: str) -> str:
        """The engine (``classic`` or ``qwen``) that runs ``instruction`` when ``engine`` is asked
        for; raises the engine's own error if no engine here can do it."""
        editor = self.get(engine)
        plan = editor.parse(instruction)
        if engine == "qwen":
            return "qwen"
        missing = editor.backend("classic").unsupported(plan)
        if not missing:
            return "classic"
        if engine == "auto" and self.qwen_served(editor):
            return "qwen"
        editor.choose_backend(plan)  # raises UnsupportedOperationError naming what is missing
        return "classic"  # pragma: no cover - choose_backend raised

    def default_engine(self) -> str:
        """The engine the server's own work (chat turns) runs on: qwen where it serves, else classic."""
        editor = self.get(self.settings.engine)
        return "qwen" if self.settings.engine == "qwen" or self.qwen_served(editor) else "classic"

    def qwen_served(self, editor: Editor) -> bool:
        """Whether qwen edits can run: here (a model folder and CUDA), or, for an API node of
        Celery workers (IMGEDIT_QUEUE=celery), on the gpu workers its model setting names (the
        node itself never loads the model, and needs no GPU)."""
        if self.settings.queue == "celery" and editor.model_path:
            return True
        return editor.qwen_available()
