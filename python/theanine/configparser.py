"""theanine.config: global settings, from THEANINE_FLAGS (as Theano's THEANO_FLAGS).

    THEANINE_FLAGS="floatX=float64,mode=REFERENCE" python train.py
"""
from __future__ import annotations

import os

_FLOAT_TYPES = ("float32", "float64")
_MODES = ("FAST_RUN", "FAST_COMPILE", "REFERENCE", "NO_OPTIMIZATION")


class Config:
    def __init__(self) -> None:
        self._floatX = "float32"
        self._mode = "FAST_RUN"
        self._device = "cpu"
        flags = os.environ.get("THEANINE_FLAGS", "")
        for item in filter(None, (s.strip() for s in flags.split(","))):
            if "=" not in item:
                raise ValueError(f"THEANINE_FLAGS: expected key=value, got {item!r}")
            key, value = (s.strip() for s in item.split("=", 1))
            if not hasattr(self, key) or key.startswith("_"):
                raise ValueError(f"THEANINE_FLAGS: unknown flag {key!r}")
            setattr(self, key, value)

    @property
    def floatX(self) -> str:  # noqa: N802 (Theano's spelling)
        return self._floatX

    @floatX.setter
    def floatX(self, value: str) -> None:  # noqa: N802
        if value not in _FLOAT_TYPES:
            raise ValueError(f"config.floatX must be one of {_FLOAT_TYPES}, got {value!r}")
        self._floatX = value

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in _MODES:
            raise ValueError(f"config.mode must be one of {_MODES}, got {value!r}")
        self._mode = value

    @property
    def device(self) -> str:
        """Where new shared variables live and functions run: 'cpu' or 'cuda'
        (Theano's device flag; 'gpu' and 'cuda0' are accepted for 'cuda')."""
        return self._device

    @device.setter
    def device(self, value: str) -> None:
        name = {"gpu": "cuda", "cuda0": "cuda", "gpu0": "cuda"}.get(value, value)
        if name not in ("cpu", "cuda"):
            raise ValueError(f"config.device must be 'cpu' or 'cuda', got {value!r}")
        self._apply_device(name)
        self._device = name

    def _apply_device(self, name: str = "") -> None:
        # Before theanine._core is imported (flags parsed at start-up), the
        # package's __init__ calls this again once it is.
        import sys

        core = sys.modules.get("theanine._core")
        if core is not None:
            core.set_default_device(name or self._device)

    def __repr__(self) -> str:
        return f"Config(floatX={self.floatX!r}, mode={self.mode!r}, device={self.device!r})"


config = Config()
