from theanine.compile.function import Function, In, Mode, Out, function
from theanine.compile.sharedvalue import shared

__all__ = ["Function", "In", "Mode", "Out", "function", "shared"]
