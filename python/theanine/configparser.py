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
        self.device = "cpu"
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

    def __repr__(self) -> str:
        return f"Config(floatX={self.floatX!r}, mode={self.mode!r}, device={self.device!r})"


config = Config()
