from theanine.compile.function import Function, In, Out, function
from theanine.compile.sharedvalue import shared

__all__ = ["Function", "In", "Out", "function", "shared"]
