"""Type stubs of the smemplan package."""

import enum
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _smemplan as _smemplan
from ._registry import Allocator as Allocator, ArrayAllocator as ArrayAllocator, Registry as Registry

_Path = Union[str, "os.PathLike[str]"]
_Column = Union[npt.ArrayLike, Sequence[int]]

__version__: str
DEFAULT_STRATEGY: str
SOLVE_TIME_LIMIT: float
PLAN_TIME_LIMIT: float
SWEEP_TIME_LIMIT: float

from ._smemplan import InternalError as InternalError

class InvalidLayout(ValueError):
    violations: List[str]
    peak: int
    def __init__(self, violations: List[str], peak: int) -> None: ...
    def __reduce__(self) -> Tuple[Any, Tuple[List[str], int]]: ...

class Status(enum.Enum):
    OPTIMAL = "optimal"
    UNPROVEN = "unproven"
    INFEASIBLE = "infeasible"
    DEADLINE_REACHED = "deadline_reached"

class Problem:
    ids: List[str]
    lower: np.ndarray
    upper: np.ndarray
    size: np.ndarray
    alignment: np.ndarray
    offset: np.ndarray
    fixed: np.ndarray
    gaps: List[List[Tuple[int, int]]]
    source: str
    def __init__(
        self,
        ids: List[str],
        lower: np.ndarray,
        upper: np.ndarray,
        size: np.ndarray,
        alignment: np.ndarray,
        offset: np.ndarray,
        fixed: np.ndarray,
        gaps: List[List[Tuple[int, int]]],
        source: str = ...,
    ) -> None: ...
    @classmethod
    def from_columns(
        cls,
        lower: _Column,
        upper: _Column,
        size: _Column,
        *,
        ids: Optional[Sequence[Any]] = ...,
        alignment: Optional[_Column] = ...,
        offset: Optional[Sequence[Optional[int]]] = ...,
        gaps: Optional[Sequence[Any]] = ...,
    ) -> "Problem": ...
    @classmethod
    def from_frame(cls, df: Any) -> "Problem": ...
    def __len__(self) -> int: ...
    def to_frame(self) -> Any: ...

class Solution:
    offsets: np.ndarray
    peak: int
    lower_bound: int
    gap: float
    status: Status
    seconds: float
    strategy: str
    winner: str
    capacity: Optional[int]
    feasible: bool
    infeasible: Optional[str]
    nodes: int
    backtracks: int
    attempts: int
    problem: Problem
    @property
    def optimal(self) -> bool: ...
    def layout(self) -> Dict[str, int]: ...
    def to_frame(self) -> Any: ...
    def svg(self, path: Optional[_Path] = ..., title: Optional[str] = ...) -> str: ...

def solve(
    *columns: Any,
    lower: Optional[_Column] = ...,
    upper: Optional[_Column] = ...,
    size: Optional[_Column] = ...,
    ids: Optional[Sequence[Any]] = ...,
    alignment: Optional[_Column] = ...,
    offset: Optional[Sequence[Optional[int]]] = ...,
    gaps: Optional[Sequence[Any]] = ...,
    capacity: Optional[int] = ...,
    strategy: str = ...,
    time_limit: float = ...,
) -> Solution: ...
def check(
    *columns: Any,
    offsets: Union[_Column, Mapping[str, int], Solution],
    lower: Optional[_Column] = ...,
    upper: Optional[_Column] = ...,
    size: Optional[_Column] = ...,
    ids: Optional[Sequence[Any]] = ...,
    alignment: Optional[_Column] = ...,
    offset: Optional[Sequence[Optional[int]]] = ...,
    gaps: Optional[Sequence[Any]] = ...,
    capacity: Optional[int] = ...,
) -> int: ...
def read_csv(path: _Path) -> Problem: ...
def write_csv(path: Optional[_Path], problem: Union[Problem, Solution], offsets: Optional[_Column] = ...) -> str: ...
def strategies() -> Dict[str, str]: ...
def devices() -> List[str]: ...
def models() -> Dict[str, Dict[str, Any]]: ...

class Plan:
    data: Dict[str, Any]
    @property
    def cubie(self) -> Dict[str, Any]: ...
    @property
    def optimized(self) -> Dict[str, Any]: ...
    @property
    def optimal(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def strategy(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def shared_bytes(self) -> int: ...
    @property
    def padded_shared_bytes(self) -> int: ...
    @property
    def local_bytes(self) -> int: ...
    @property
    def persistent_local_bytes(self) -> int: ...
    @property
    def cubie_shared_bytes(self) -> int: ...
    @property
    def cubie_local_bytes(self) -> int: ...
    @property
    def cubie_persistent_local_bytes(self) -> int: ...
    @property
    def bytes_per_run(self) -> Dict[str, Dict[str, int]]: ...
    @property
    def block_size(self) -> Optional[int]: ...
    @property
    def cubie_block_size(self) -> Optional[int]: ...
    @property
    def best_block_size(self) -> Optional[int]: ...
    @property
    def occupancy(self) -> Optional[Dict[str, Any]]: ...
    @property
    def estimated_runs_per_second(self) -> Optional[float]: ...
    @property
    def tiers(self) -> Optional[Dict[str, Any]]: ...
    def buffers(self, side: str = ...) -> List[Dict[str, Any]]: ...
    def to_frame(self, side: str = ...) -> Any: ...
    def cuda_header(self, path: Optional[_Path] = ...) -> str: ...
    def svg(self, path: Optional[_Path] = ...) -> str: ...
    def to_json(self) -> str: ...

def plan(
    model: Union[str, _Path, None] = ...,
    *,
    set: Optional[Mapping[str, Union[int, bool, str]]] = ...,
    precision: Union[str, type, "np.dtype[Any]", None] = ...,
    cubie: Union[_Path, Mapping[str, Any], None] = ...,
    strategy: str = ...,
    device: str = ...,
    block_size: int = ...,
    runs: int = ...,
    registers: int = ...,
    time_limit: float = ...,
    tiers: str = ...,
) -> Plan: ...

class SweepResult(List[Dict[str, Any]]):
    data: Dict[str, Any]
    csv: str
    @property
    def pareto_front(self) -> List[int]: ...
    @property
    def stats(self) -> Dict[str, Any]: ...
    def svg(self, path: Optional[_Path] = ...) -> str: ...

def sweep(
    model: Union[str, _Path, Sequence[Union[str, _Path]], None] = ...,
    *,
    set: Optional[Mapping[str, Any]] = ...,
    precision: Union[str, type, "np.dtype[Any]", Sequence[Union[str, type, "np.dtype[Any]"]], None] = ...,
    device: Union[str, Sequence[str]] = ...,
    strategies: Union[str, Sequence[str]] = ...,
    tiers: str = ...,
    block_size: int = ...,
    runs: int = ...,
    registers: int = ...,
    time_limit: float = ...,
    x: Optional[str] = ...,
    as_frame: Optional[bool] = ...,
) -> Any: ...

class Occupancy:
    device: str
    description: str
    block_size: int
    smem_per_block: int
    registers: int
    active_blocks_per_sm: int
    active_warps_per_sm: int
    active_threads_per_sm: int
    max_warps_per_sm: int
    occupancy: float
    limiter: str
    warps_per_block: int
    active_threads: int
    multiprocessors: int

def occupancy(*, device: str = ..., block_size: int, smem_per_block: int = ..., registers: int = ...) -> Occupancy: ...
