//! `smemplan._smemplan`: the Rust half of the Python package.
//!
//! A thin layer: every function takes plain Python values (bytes of
//! little-endian `u64` columns, strings, numbers), calls the library exactly
//! as the command line does, and answers with plain values or a JSON text
//! that the Python half (`python/python/smemplan/`) turns into objects.
//! Every call that can take long releases the GIL, and every call runs
//! under `catch_unwind`: a panic becomes `smemplan.InternalError`, never an
//! aborted interpreter.
//!
//! Every use of the `smemplan` library lives in the `library` module below,
//! so that a change of its module paths is fixed in one place.

use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyKeyError, PyOSError, PyPermissionError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::io::ErrorKind;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

mod library;

// Named `smemplan.InternalError`, where the package exports it, so that
// pickle (and so multiprocessing) finds the class again.
create_exception!(smemplan, InternalError, PyRuntimeError, "A bug in smemplan (a Rust panic); please report it.");

/// Why a call failed, before it becomes a Python exception.
pub enum Failure {
    /// Bad input: `ValueError`.
    Value(String),
    /// An unknown key (CuBIE raises `KeyError`): `KeyError`.
    Key(String),
    /// A file that cannot be read: `OSError`, or its subclass for the cause
    /// (`FileNotFoundError`, `PermissionError`, `IsADirectoryError`).
    Os(std::io::ErrorKind, String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Value(e.to_string())
    }
}

/// A binding's result: a value, or the exception to raise.
pub(crate) type Answer<T> = Result<T, Failure>;

/// Runs `f` without the GIL, turning a panic into `InternalError` and a
/// failure into `ValueError` / `KeyError`.
fn guarded<T: Send>(py: Python<'_>, f: impl FnOnce() -> Answer<T> + Send) -> PyResult<T> {
    let outcome = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    settle(outcome)
}

/// As [`guarded`], for work that stops early when its flag is set: the
/// work runs on a worker thread while this one, without the GIL, waits for
/// its answer; every 50 ms without one it takes the GIL briefly to look for
/// a signal (Ctrl-C), and on one it sets the flag, waits for the work to
/// stop, and raises the signal's exception. An answer ends the wait at once.
fn interruptible<T: Send>(py: Python<'_>, f: impl FnOnce(Arc<AtomicBool>) -> Answer<T> + Send) -> PyResult<T> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let (outcome, signal) = py.detach(move || {
        std::thread::scope(|scope| {
            let (done, answer) = mpsc::channel();
            scope.spawn(move || {
                // The receiver waits until this sends (or the thread ends).
                let _ = done.send(catch_unwind(AssertUnwindSafe(move || f(flag))));
            });
            let mut signal = None;
            loop {
                match answer.recv_timeout(Duration::from_millis(50)) {
                    Ok(outcome) => break (outcome, signal),
                    Err(RecvTimeoutError::Timeout) => {
                        if signal.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                cancel.store(true, Ordering::Relaxed);
                                signal = Some(e);
                            }
                        }
                    }
                    // Only a panic outside `catch_unwind` ends the worker
                    // without an answer.
                    Err(RecvTimeoutError::Disconnected) => {
                        let lost: Box<dyn std::any::Any + Send> = Box::new("the worker thread ended without an answer");
                        break (Err(lost), signal);
                    }
                }
            }
        })
    });
    match signal {
        Some(e) => Err(e),
        None => settle(outcome),
    }
}

/// As [`guarded`], holding the GIL (for short calls on `!Send` state).
fn guarded_here<T>(f: impl FnOnce() -> Answer<T>) -> PyResult<T> {
    settle(catch_unwind(AssertUnwindSafe(f)))
}

fn settle<T>(outcome: std::thread::Result<Answer<T>>) -> PyResult<T> {
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(Failure::Value(m))) => Err(PyValueError::new_err(m)),
        Ok(Err(Failure::Key(m))) => Err(PyKeyError::new_err(m)),
        Ok(Err(Failure::Os(kind, m))) => Err(match kind {
            ErrorKind::NotFound => PyFileNotFoundError::new_err(m),
            ErrorKind::PermissionDenied => PyPermissionError::new_err(m),
            ErrorKind::IsADirectory => PyIsADirectoryError::new_err(m),
            _ => PyOSError::new_err(m),
        }),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(InternalError::new_err(format!("smemplan panicked: {what}")))
        }
    }
}

/// Decodes a column of little-endian `u64`s.
fn column(name: &str, bytes: &[u8]) -> Answer<Vec<u64>> {
    if !bytes.len().is_multiple_of(8) {
        return Err(Failure::Value(format!("{name}: the column's bytes are not whole 64-bit numbers")));
    }
    Ok(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect())
}

fn seconds(name: &str, secs: f64) -> Answer<Duration> {
    Duration::try_from_secs_f64(secs)
        .map_err(|_| Failure::Value(format!("{name}: `{secs}` is not a valid time limit (seconds, at least 0)")))
}

/// The columns of one instance, as the Python half passes them.
#[derive(FromPyObject)]
struct Columns {
    #[pyo3(item)]
    ids: Vec<String>,
    #[pyo3(item)]
    lower: PyBackedBytes,
    #[pyo3(item)]
    upper: PyBackedBytes,
    #[pyo3(item)]
    size: PyBackedBytes,
    #[pyo3(item)]
    alignment: Option<PyBackedBytes>,
    /// Fixed offsets, and which rows have one.
    #[pyo3(item)]
    offset: Option<PyBackedBytes>,
    #[pyo3(item)]
    offset_mask: Option<PyBackedBytes>,
    /// Per row: `(start, end)` gaps.
    #[pyo3(item)]
    gaps: Option<Vec<Vec<(u64, u64)>>>,
}

impl Columns {
    fn decode(&self) -> Answer<library::Rows> {
        let n = self.ids.len();
        let lower = column("lower", &self.lower)?;
        let upper = column("upper", &self.upper)?;
        let size = column("size", &self.size)?;
        let alignment = self.alignment.as_deref().map(|b| column("alignment", b)).transpose()?;
        let offset = self.offset.as_deref().map(|b| column("offset", b)).transpose()?;
        for (name, len) in [
            ("lower", Some(lower.len())),
            ("upper", Some(upper.len())),
            ("size", Some(size.len())),
            ("alignment", alignment.as_ref().map(Vec::len)),
            ("offset", offset.as_ref().map(Vec::len)),
            ("gaps", self.gaps.as_ref().map(Vec::len)),
        ] {
            if let Some(len) = len {
                if len != n {
                    return Err(Failure::Value(format!("{name}: {len} values for {n} buffers")));
                }
            }
        }
        let fixed: Vec<Option<u64>> = match (offset, &self.offset_mask) {
            (Some(o), Some(mask)) => o.into_iter().zip(mask.iter()).map(|(v, &m)| (m != 0).then_some(v)).collect(),
            (Some(o), None) => o.into_iter().map(Some).collect(),
            _ => vec![None; n],
        };
        Ok(library::Rows {
            ids: self.ids.clone(),
            lower,
            upper,
            size,
            alignment: alignment.unwrap_or_else(|| vec![1; n]),
            offset: fixed,
            gaps: self.gaps.clone().unwrap_or_else(|| vec![Vec::new(); n]),
        })
    }
}

/// The columns of a problem, back to Python: `(ids, lower, upper, size,
/// alignment, offset, offset_mask, gaps)` with numbers as little-endian
/// `u64` bytes.
type ColumnsOut = (Vec<String>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<Vec<(u64, u64)>>);

fn bytes_of(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn columns_out(rows: library::Rows) -> ColumnsOut {
    let mask: Vec<u8> = rows.offset.iter().map(|o| u8::from(o.is_some())).collect();
    let offsets: Vec<u64> = rows.offset.iter().map(|o| o.unwrap_or(0)).collect();
    (
        rows.ids,
        bytes_of(&rows.lower),
        bytes_of(&rows.upper),
        bytes_of(&rows.size),
        bytes_of(&rows.alignment),
        bytes_of(&offsets),
        mask,
        rows.gaps,
    )
}

/// The text of the file at `path`, read by the library's reader (refusing
/// a file that is not UTF-8 text, naming its line and column). `what`
/// names the argument in errors (`model: cannot read ...`); empty, none.
#[pyfunction]
fn read_text(py: Python<'_>, what: String, path: String) -> PyResult<String> {
    guarded(py, move || library::read_text(&what, &path))
}

/// Reads a MiniMalloc CSV text (`source` names it in errors) into columns.
#[pyfunction]
fn read_csv_text(py: Python<'_>, source: String, text: String) -> PyResult<ColumnsOut> {
    guarded(py, move || Ok(columns_out(library::read_csv(&source, &text)?)))
}

/// Validates columns as a problem (every error names the buffer).
#[pyfunction]
fn validate(py: Python<'_>, columns: Columns) -> PyResult<usize> {
    guarded(py, move || Ok(library::problem(&columns.decode()?, None)?.len()))
}

/// Solves an instance. Returns `(offsets as u64 bytes, JSON summary)`.
#[pyfunction]
#[pyo3(signature = (columns, strategy, time_limit, capacity=None))]
fn solve<'py>(
    py: Python<'py>,
    columns: Columns,
    strategy: String,
    time_limit: f64,
    capacity: Option<u64>,
) -> PyResult<(Bound<'py, PyBytes>, String)> {
    let (offsets, summary) = interruptible(py, move |cancel| {
        let limit = seconds("time_limit", time_limit)?;
        let rows = columns.decode()?;
        let (offsets, summary) = library::solve(&rows, &strategy, limit, capacity, cancel)?;
        Ok((bytes_of(&offsets), serde_json::to_string(&summary)?))
    })?;
    Ok((PyBytes::new(py, &offsets), summary))
}

/// Checks offsets with the independent checker: `(peak, lower bound,
/// violations)`.
#[pyfunction]
#[pyo3(signature = (columns, offsets, capacity=None))]
fn check(
    py: Python<'_>,
    columns: Columns,
    offsets: PyBackedBytes,
    capacity: Option<u64>,
) -> PyResult<(u64, u64, Vec<String>)> {
    guarded(py, move || {
        let rows = columns.decode()?;
        let offsets = column("offsets", &offsets)?;
        if offsets.len() != rows.ids.len() {
            return Err(Failure::Value(format!("offsets: {} values for {} buffers", offsets.len(), rows.ids.len())));
        }
        library::check(&rows, &offsets, capacity)
    })
}

/// Writes an instance (and a layout, if given) as MiniMalloc CSV text.
#[pyfunction]
#[pyo3(signature = (columns, offsets=None))]
fn write_csv_text(py: Python<'_>, columns: Columns, offsets: Option<PyBackedBytes>) -> PyResult<String> {
    guarded(py, move || {
        let rows = columns.decode()?;
        let offsets = offsets.as_deref().map(|b| column("offsets", b)).transpose()?;
        library::write_csv(&rows, offsets.as_deref())
    })
}

/// Draws a layout as SVG.
#[pyfunction]
#[pyo3(signature = (columns, offsets, title, lower_bound=None, capacity=None))]
fn layout_svg(
    py: Python<'_>,
    columns: Columns,
    offsets: PyBackedBytes,
    title: String,
    lower_bound: Option<u64>,
    capacity: Option<u64>,
) -> PyResult<String> {
    guarded(py, move || {
        let rows = columns.decode()?;
        let offsets = column("offsets", &offsets)?;
        library::layout_svg(&rows, &offsets, title, lower_bound, capacity)
    })
}

/// The strategies: `(name, summary)` in the library's order, default first.
#[pyfunction]
fn strategies() -> Vec<(String, String)> {
    library::strategies()
}

/// The default strategy's name.
#[pyfunction]
fn default_strategy() -> String {
    library::default_strategy()
}

/// The built-in models, as JSON (`smemplan plan --list-models --json`).
#[pyfunction]
fn models(py: Python<'_>) -> PyResult<String> {
    guarded(py, library::models)
}

/// The built-in default model's name.
#[pyfunction]
fn default_model() -> String {
    library::default_model_name()
}

/// The plan of a kernel (as `smemplan plan --json`), with the SVG of the
/// optimised shared layout and the CUDA header: `(json, svg, cuda)`.
#[pyfunction]
#[pyo3(signature = (source, sets, strategy, device, block_size, runs, registers, time_limit, tiers))]
#[allow(clippy::too_many_arguments)]
fn plan(
    py: Python<'_>,
    source: (String, String, String),
    sets: Vec<(String, String)>,
    strategy: String,
    device: String,
    block_size: u64,
    runs: u64,
    registers: u64,
    time_limit: f64,
    tiers: bool,
) -> PyResult<(String, Option<String>, Option<String>)> {
    guarded(py, move || {
        let limit = seconds("time_limit", time_limit)?;
        let source = library::Source::from_tuple(source)?;
        let launch = library::LaunchArgs { strategy, device, block_size, runs, registers, time_limit: limit };
        library::plan(&source, &sets, &launch, tiers)
    })
}

/// A sweep (as `smemplan sweep --json`): `(json, csv, svg)`.
#[pyfunction]
#[pyo3(signature = (models, files, sets, devices, strategies, block_size, runs, registers, time_limit, tiers, x=None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    models: Vec<String>,
    files: Vec<(String, String)>,
    sets: Vec<library::AxisArg>,
    devices: Vec<String>,
    strategies: Vec<String>,
    block_size: u64,
    runs: u64,
    registers: u64,
    time_limit: f64,
    tiers: String,
    x: Option<String>,
) -> PyResult<(String, String, Option<String>)> {
    guarded(py, move || {
        let limit = seconds("time_limit", time_limit)?;
        let spec = library::SweepArgs {
            models,
            files,
            sets,
            devices,
            strategies,
            block_size,
            runs,
            registers,
            time_limit: limit,
            tiers,
        };
        library::sweep(&spec, x.as_deref())
    })
}

/// The driver's occupancy rule for one launch (as `smemplan occupancy
/// --json`).
#[pyfunction]
fn occupancy(py: Python<'_>, device: String, block_size: u64, smem_per_block: u64, registers: u64) -> PyResult<String> {
    guarded(py, move || library::occupancy(&device, block_size, smem_per_block, registers))
}

/// The device profiles' names.
#[pyfunction]
fn devices() -> PyResult<Vec<String>> {
    guarded_here(library::devices)
}

/// CuBIE's buffer registry, reproduced (a Rust registry; the Python class
/// `smemplan.Registry` gives it CuBIE's calls and exceptions).
#[pyclass(module = "smemplan._smemplan")]
struct RawRegistry {
    inner: library::Registry,
}

#[pymethods]
impl RawRegistry {
    /// An empty registry.
    #[new]
    fn new() -> Self {
        RawRegistry { inner: library::Registry::new() }
    }

    /// Declares (or re-declares) a component with its precision
    /// (`float32`, `float64`).
    fn add_component(&mut self, id: &str, class: &str, precision: &str) -> PyResult<()> {
        guarded_here(|| library::registry_add_component(&mut self.inner, id, class, precision))
    }

    /// Registers (or replaces in place) buffer `name` of component
    /// `parent`: `size` elements of `precision` at `location`.
    #[pyo3(signature = (name, parent, size, location, persistent, aliases, precision))]
    #[allow(clippy::too_many_arguments)]
    fn register(
        &mut self,
        name: &str,
        parent: &str,
        size: u64,
        location: &str,
        persistent: bool,
        aliases: Option<&str>,
        precision: &str,
    ) -> PyResult<()> {
        guarded_here(|| {
            library::registry_register(&mut self.inner, name, parent, size, location, persistent, aliases, precision)
        })
    }

    /// Moves buffer `name` of `parent` to `location`; whether it exists.
    fn update(&mut self, parent: &str, name: &str, location: &str) -> PyResult<bool> {
        guarded_here(|| library::registry_update(&mut self.inner, parent, name, location))
    }

    /// Drops `parent`'s registrations and its children's: the ids cleared.
    fn clear_parent(&mut self, parent: &str) -> PyResult<Vec<String>> {
        guarded_here(|| library::registry_clear_parent(&mut self.inner, parent))
    }

    /// Rolls component `child` up into `parent` as `{child_name}_shared`
    /// and `{child_name}_persistent`.
    #[pyo3(signature = (parent, child_name, child, shared_alias=None))]
    fn register_child(
        &mut self,
        parent: &str,
        child_name: &str,
        child: &str,
        shared_alias: Option<&str>,
    ) -> PyResult<()> {
        guarded_here(|| library::registry_register_child(&mut self.inner, parent, child_name, child, shared_alias))
    }

    /// `(shared, local, persistent local)` elements of `parent`.
    fn sizes(&self, parent: &str) -> PyResult<(u64, u64, u64)> {
        guarded_here(|| library::registry_sizes(&self.inner, parent))
    }

    /// Where `name` of `parent` lives: `(pool, start, stop, size, precision,
    /// unit)`; `start`/`stop` are `None` for a local array of its own.
    fn allocator(&self, name: &str, parent: &str) -> PyResult<library::View> {
        guarded_here(|| library::registry_allocator(&self.inner, name, parent))
    }

    /// The kernel's two arrays: `((pool, elements, precision), (...))`.
    fn toplevel(&self, kernel: &str) -> PyResult<(library::ArrayRow, library::ArrayRow)> {
        guarded_here(|| library::registry_toplevel(&self.inner, kernel))
    }

    /// CuBIE's layout of `parent`: per entry `(name, pool, start, stop,
    /// alias_applied)`, in registration order.
    fn layout(&self, parent: &str) -> PyResult<Vec<library::LayoutRow>> {
        guarded_here(|| library::registry_layout(&self.inner, parent))
    }

    /// The kernel's footprint from `root` as JSON.
    fn footprint(&self, root: &str) -> PyResult<String> {
        guarded_here(|| library::registry_footprint(&self.inner, root))
    }

    /// The component ids, in declaration order.
    fn components(&self) -> Vec<String> {
        library::registry_components(&self.inner)
    }
}

/// The Rust half of the `smemplan` package.
#[pymodule]
fn _smemplan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InternalError", m.py().get_type::<InternalError>())?;
    m.add_function(wrap_pyfunction!(read_text, m)?)?;
    m.add_function(wrap_pyfunction!(read_csv_text, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(write_csv_text, m)?)?;
    m.add_function(wrap_pyfunction!(layout_svg, m)?)?;
    m.add_function(wrap_pyfunction!(strategies, m)?)?;
    m.add_function(wrap_pyfunction!(default_strategy, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(default_model, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(occupancy, m)?)?;
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    m.add_function(wrap_pyfunction!(panic_for_test, m)?)?;
    m.add_class::<RawRegistry>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Panics on purpose: the test that a panic becomes `InternalError`.
#[pyfunction]
fn panic_for_test(py: Python<'_>) -> PyResult<()> {
    guarded(py, || -> Answer<()> { panic!("deliberate panic (test)") })
}

// `Failure::Key` is built by the registry wrappers in `lib`.
#[allow(dead_code)]
fn _uses(_: Failure) {}
