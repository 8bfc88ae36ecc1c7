//! The card, through cudarc: opening it, compiling with NVRTC, launching
//! (the stand-in, the integrators, a user kernel of `tune --kernel`).
//!
//! cudarc loads `libcuda` and `libnvrtc` at run time, so this builds on a
//! machine without CUDA; [`Gpu::open`] checks for both libraries before the
//! first call into either (cudarc would otherwise panic) and turns every
//! driver or compiler failure into one [`Error::Gpu`] line.
//!
//! The unsafe code of the crate is here and only here: the kernel launches.
#![allow(unsafe_code)]

use super::integrity::{self, Clobber, Walk};
use crate::error::{Error, Result};
use cudarc::driver::sys::{CUdevice_attribute, CUfunction_attribute};
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{self, CompileOptions};
use serde::Serialize;
use smemplan::perf::occupancy::DeviceLimits;
use std::sync::Arc;

fn gpu_error(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::Gpu(format!("{what}: {e:?}"))
}

/// What the driver says about the card.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// Device ordinal.
    pub ordinal: usize,
    /// Marketing name, e.g. `NVIDIA H200`.
    pub name: String,
    /// Compute capability `major.minor`.
    pub compute_capability: String,
    /// CUDA version the driver supports, `major.minor` (`cuDriverGetVersion`).
    pub driver_cuda_version: String,
    /// NVRTC's version, `major.minor`.
    pub nvrtc_version: String,
    /// The limits a device profile records too ([`DeviceLimits`]).
    #[serde(flatten)]
    pub limits: DeviceLimits,
    /// SM clock, kHz (0 when the driver does not say).
    pub clock_khz: u64,
}

/// Compiles `source` to PTX with NVRTC for `arch` (e.g. `sm_90`) without a
/// card or driver: what `verify --compile-only` uses to check generated
/// kernels on a build machine.
pub fn compile_only(source: &str, name: &str, arch: &str, options: &[String]) -> Result<String> {
    // SAFETY: only tries to dlopen NVRTC; nothing is called.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(no_nvrtc());
    }
    let mut all = vec![format!("--gpu-architecture={arch}"), "--std=c++17".to_string()];
    all.extend(options.iter().cloned());
    nvrtc_compile(source, name, all).map(|ptx| ptx.to_src())
}

fn no_nvrtc() -> Error {
    Error::Gpu("no NVRTC: libnvrtc.so could not be loaded (add the CUDA toolkit's lib64 to LD_LIBRARY_PATH)".into())
}

fn nvrtc_compile(source: &str, name: &str, options: Vec<String>) -> Result<nvrtc::Ptx> {
    let opts = CompileOptions { options, ..CompileOptions::default() };
    nvrtc::compile_ptx_with_opts(source, opts).map_err(|e| match e {
        nvrtc::CompileError::CompileError { log, .. } => {
            Error::Gpu(format!("NVRTC rejected kernel `{name}`:\n{}", log.to_string_lossy()))
        }
        other => gpu_error("NVRTC", other),
    })
}

/// An open card: context, stream and what the driver reports.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    arch: String,
    /// The card.
    pub info: DeviceInfo,
}

/// A compiled kernel and its resource use.
pub struct CompiledKernel {
    func: CudaFunction,
    /// Registers per thread.
    pub registers: u64,
    /// Local (stack) bytes per thread.
    pub local_bytes: u64,
    /// Static shared bytes per block.
    pub static_shared_bytes: u64,
    /// The most threads a block of this kernel may have.
    pub max_threads_per_block: u64,
}

impl Gpu {
    /// Opens device `ordinal`: fails with one line when the driver library,
    /// NVRTC or the card is missing.
    pub fn open(ordinal: usize) -> Result<Gpu> {
        // SAFETY: only tries to dlopen the driver library; nothing is called.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(Error::Gpu(
                "no CUDA driver: libcuda.so could not be loaded (is this a machine with an NVIDIA GPU and driver?)"
                    .into(),
            ));
        }
        // SAFETY: as above, for NVRTC.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(no_nvrtc());
        }
        let count = CudaContext::device_count().map_err(|e| gpu_error("no usable CUDA device", e))?;
        if ordinal >= count.max(0) as usize {
            return Err(Error::Gpu(format!("no CUDA device {ordinal}: the driver sees {count}")));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| gpu_error("cannot open the CUDA device", e))?;
        let stream = ctx.default_stream();
        let attr = |a: CUdevice_attribute| -> Result<u64> {
            ctx.attribute(a).map(|v| v.max(0) as u64).map_err(|e| gpu_error("reading a device attribute", e))
        };
        use CUdevice_attribute::*;
        let (major, minor) =
            (attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?, attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?);
        let mut driver = 0;
        // SAFETY: writes one int through a valid pointer.
        unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut driver) }
            .result()
            .map_err(|e| gpu_error("cuDriverGetVersion", e))?;
        let (mut nv_major, mut nv_minor) = (0, 0);
        // SAFETY: writes two ints through valid pointers.
        let status = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut nv_major, &mut nv_minor) };
        if status != cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
            return Err(gpu_error("nvrtcVersion", status));
        }
        let info = DeviceInfo {
            ordinal,
            name: ctx.name().map_err(|e| gpu_error("reading the device name", e))?,
            compute_capability: format!("{major}.{minor}"),
            driver_cuda_version: format!("{}.{}", driver / 1000, driver % 1000 / 10),
            nvrtc_version: format!("{nv_major}.{nv_minor}"),
            limits: DeviceLimits {
                multiprocessors: attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
                max_shared_per_block_optin: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)?,
                shared_per_sm: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR)?,
                reserved_shared_per_block: attr(CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK)?,
                max_threads_per_sm: attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR)?,
                max_blocks_per_sm: attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR)?,
                max_threads_per_block: attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?,
                registers_per_sm: attr(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR)?,
                warp_size: attr(CU_DEVICE_ATTRIBUTE_WARP_SIZE)?,
            },
            // Deprecated in CUDA 13: 0 when the driver no longer answers.
            clock_khz: attr(CU_DEVICE_ATTRIBUTE_CLOCK_RATE).unwrap_or(0),
        };
        Ok(Gpu { ctx, stream, arch: format!("--gpu-architecture=sm_{major}{minor}"), info })
    }

    /// Compiles `source` with NVRTC for this card (`-O3` is NVRTC's
    /// default) plus `options`, and loads kernel `name` from it.
    pub fn compile(&self, source: &str, name: &str, options: &[String]) -> Result<CompiledKernel> {
        let mut all = vec![self.arch.clone(), "--std=c++17".to_string()];
        all.extend(options.iter().cloned());
        self.load(nvrtc_compile(source, name, all)?, name)
    }

    /// [`Gpu::compile`] for many `(source, kernel name)` pairs with the
    /// same `options`, NVRTC running on all cores; the kernels in the same
    /// order.
    pub fn compile_all(&self, sources: &[(String, &str)], options: &[String]) -> Result<Vec<CompiledKernel>> {
        use rayon::prelude::*;
        let mut options: Vec<String> = options.to_vec();
        options.insert(0, self.arch.clone());
        if !options.iter().any(|o| o.starts_with("--std")) {
            options.push("--std=c++17".into());
        }
        let ptx: Vec<nvrtc::Ptx> = sources
            .par_iter()
            .map(|(source, name)| nvrtc_compile(source, name, options.clone()))
            .collect::<Result<_>>()?;
        ptx.into_iter().zip(sources).map(|(p, (_, name))| self.load(p, name)).collect()
    }

    fn load(&self, ptx: nvrtc::Ptx, name: &str) -> Result<CompiledKernel> {
        let module = self.ctx.load_module(ptx).map_err(|e| gpu_error("loading the compiled module", e))?;
        let func = module.load_function(name).map_err(|e| gpu_error(&format!("kernel `{name}`"), e))?;
        let get = |a: CUfunction_attribute| -> Result<u64> {
            func.get_attribute(a).map(|v| v.max(0) as u64).map_err(|e| gpu_error("reading a kernel attribute", e))
        };
        use CUfunction_attribute::*;
        let registers = get(CU_FUNC_ATTRIBUTE_NUM_REGS)?;
        let local_bytes = get(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES)?;
        let static_shared_bytes = get(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)?;
        let max_threads_per_block = get(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?;
        let kernel = CompiledKernel { func, registers, local_bytes, static_shared_bytes, max_threads_per_block };
        // Every launch may use up to the opt-in limit; the driver's occupancy
        // answers assume this attribute too.
        self.allow_shared(&kernel, self.info.limits.max_shared_per_block_optin.saturating_sub(static_shared_bytes))?;
        Ok(kernel)
    }

    /// Raises `kernel`'s dynamic shared memory limit to `bytes` (the opt-in
    /// attribute, needed above 48 KiB).
    fn allow_shared(&self, kernel: &CompiledKernel, bytes: u64) -> Result<()> {
        let bytes = i32::try_from(bytes).map_err(|_| Error::Gpu(format!("{bytes} B of shared memory")))?;
        kernel
            .func
            .set_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes)
            .map_err(|e| gpu_error("setting the dynamic shared memory limit", e))
    }

    /// The driver's resident blocks per multiprocessor
    /// (`cuOccupancyMaxActiveBlocksPerMultiprocessor`); 0 when the driver
    /// refuses the configuration.
    pub fn active_blocks(&self, kernel: &CompiledKernel, block_size: u64, dynamic_shared_bytes: u64) -> Result<u64> {
        let block = u32::try_from(block_size).map_err(|_| Error::Gpu(format!("block of {block_size} threads")))?;
        match kernel.func.occupancy_max_active_blocks_per_multiprocessor(block, dynamic_shared_bytes as usize, None) {
            Ok(n) => Ok(n as u64),
            Err(e) if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_INVALID_VALUE => Ok(0),
            Err(e) => Err(gpu_error("cuOccupancyMaxActiveBlocksPerMultiprocessor", e)),
        }
    }

    /// Runs the integrity walk compiled from `walk` at `block_size` threads
    /// per block over `blocks` blocks; returns the clobbers (at most
    /// `cap`) and how many there were.
    pub fn integrity(
        &self,
        kernel: &CompiledKernel,
        walk: &Walk,
        block_size: u64,
        blocks: u64,
        cap: u32,
    ) -> Result<(Vec<Clobber>, u64)> {
        let shared = walk.shared_bytes(block_size)?;
        let cfg = launch_config(blocks, block_size, shared)?;
        let mut out: CudaSlice<u32> = self
            .stream
            .alloc_zeros(1 + cap as usize * integrity::RECORD_WORDS)
            .map_err(|e| gpu_error("allocating the report", e))?;
        let mut launch = self.stream.launch_builder(&kernel.func);
        launch.arg(&mut out).arg(&cap);
        // SAFETY: the kernel's parameters are (unsigned* out, unsigned cap),
        // as generated by `integrity::source`; `out` holds 1 + cap records of
        // RECORD_WORDS words, which is all the kernel writes; the dynamic
        // shared memory is the layout's bytes for this block size, within the
        // limit set at compile time (the driver rejects a launch above it).
        unsafe { launch.launch(cfg) }.map_err(|e| gpu_error("launching the integrity kernel", e))?;
        self.stream.synchronize().map_err(|e| gpu_error("running the integrity kernel", e))?;
        let report = self.stream.clone_dtoh(&out).map_err(|e| gpu_error("reading the report", e))?;
        Ok(walk.decode(&report))
    }
}

/// A batched integrator's arrays on the card: inputs copied once, outputs
/// cleared before every launch.
pub struct IntegratorArrays {
    y0: CudaSlice<u8>,
    params: CudaSlice<u8>,
    out: CudaSlice<u8>,
    stats: CudaSlice<u32>,
    batch: u64,
}

/// One configuration's timed launches.
pub struct Timed {
    /// Each timed launch, milliseconds (CUDA events), after one warm-up.
    pub times_ms: Vec<f64>,
    /// The last launch's `out` bytes.
    pub out: Vec<u8>,
    /// The last launch's `stats`.
    pub stats: Vec<u32>,
}

impl Gpu {
    /// Copies a batch's inputs to the card and allocates its outputs.
    pub fn integrator_arrays(&self, inputs: &crate::integrate::Inputs, batch: u64) -> Result<IntegratorArrays> {
        let err = |e| gpu_error("allocating the integrator's arrays", e);
        Ok(IntegratorArrays {
            y0: self.stream.clone_htod(&inputs.y0).map_err(err)?,
            params: self.stream.clone_htod(&inputs.params).map_err(err)?,
            out: self.stream.alloc_zeros(inputs.out_bytes.max(1)).map_err(err)?,
            stats: self.stream.alloc_zeros(inputs.stats_words.max(1)).map_err(err)?,
            batch,
        })
    }

    /// Launches a `smemplan_lab::integrate` kernel once untimed and `repeats`
    /// times timed with CUDA events, at `block_size` threads per block and
    /// `shared` dynamic shared bytes; the outputs are cleared before each
    /// launch (outside the timed region) and read back after the last.
    pub fn time_integrator(
        &self,
        kernel: &CompiledKernel,
        arrays: &mut IntegratorArrays,
        block_size: u64,
        shared: u64,
        repeats: usize,
    ) -> Result<Timed> {
        let cfg = launch_config(crate::integrate::Kernel::grid_size(arrays.batch, block_size), block_size, shared)?;
        let times_ms = self.timed(
            repeats,
            "the integrator",
            arrays,
            |gpu, arrays| {
                gpu.stream.memset_zeros(&mut arrays.out).map_err(|e| gpu_error("clearing out", e))?;
                gpu.stream.memset_zeros(&mut arrays.stats).map_err(|e| gpu_error("clearing stats", e))
            },
            |gpu, arrays| {
                let mut launch = gpu.stream.launch_builder(&kernel.func);
                launch
                    .arg(&arrays.y0)
                    .arg(&arrays.params)
                    .arg(&mut arrays.out)
                    .arg(&mut arrays.stats)
                    .arg(&arrays.batch);
                // SAFETY: `smemplan::integrate`'s entry takes (const real_t* y0,
                // const real_t* params, real_t* out, unsigned* stats, unsigned
                // long long batch); the arrays were sized by `Setup::inputs` for
                // this batch, which is all the kernel touches (threads past the
                // batch return at once); the dynamic shared memory is the layout's
                // bytes for this block, within the limit set at compile time.
                unsafe { launch.launch(cfg) }.map(drop).map_err(|e| gpu_error("launching the integrator", e))
            },
        )?;
        let out = self.stream.clone_dtoh(&arrays.out).map_err(|e| gpu_error("reading out", e))?;
        let stats = self.stream.clone_dtoh(&arrays.stats).map_err(|e| gpu_error("reading stats", e))?;
        Ok(Timed { times_ms, out, stats })
    }
}

impl Gpu {
    /// Times a [`super::standin`] kernel over `runs` runs at `block_size`
    /// threads per block with `shared` dynamic shared bytes: one untimed
    /// launch, then `repeats` timed with CUDA events (milliseconds each).
    pub fn time_standin(
        &self,
        kernel: &CompiledKernel,
        runs: u64,
        block_size: u64,
        shared: u64,
        repeats: usize,
    ) -> Result<Vec<f64>> {
        let cfg = launch_config(runs.div_ceil(block_size.max(1)), block_size, shared)?;
        let mut out: CudaSlice<f32> =
            self.stream.alloc_zeros(runs.max(1) as usize).map_err(|e| gpu_error("allocating the checksums", e))?;
        self.timed(
            repeats,
            "the stand-in",
            &mut out,
            |_, _| Ok(()),
            |gpu, out| {
                let mut launch = gpu.stream.launch_builder(&kernel.func);
                launch.arg(out).arg(&runs);
                // SAFETY: `standin::source` generates (float* out, unsigned long
                // long runs); `out` holds `runs` floats and threads at or past
                // `runs` return at once; the dynamic shared memory is the stand-in's
                // bytes for this block, within the limit set at compile time.
                unsafe { launch.launch(cfg) }.map(drop).map_err(|e| gpu_error("launching the stand-in", e))
            },
        )
    }
}

impl Gpu {
    /// One untimed launch, then `repeats` timed with CUDA events
    /// (milliseconds each): `reset` prepares `state` before every launch,
    /// outside the timed region; `launch` enqueues the kernel `what` names.
    fn timed<S>(
        &self,
        repeats: usize,
        what: &str,
        state: &mut S,
        reset: impl Fn(&Gpu, &mut S) -> Result<()>,
        launch: impl Fn(&Gpu, &mut S) -> Result<()>,
    ) -> Result<Vec<f64>> {
        let event = || {
            self.stream
                .record_event(Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT))
                .map_err(|e| gpu_error("recording an event", e))
        };
        let mut times_ms = Vec::with_capacity(repeats);
        for i in 0..=repeats {
            reset(self, state)?;
            let start = event()?;
            launch(self, state)?;
            let end = event()?;
            let ms = start.elapsed_ms(&end).map_err(|e| gpu_error(&format!("running {what}"), e))?;
            if i > 0 {
                times_ms.push(ms as f64);
            }
        }
        Ok(times_ms)
    }
}

/// A one-dimensional launch, checked against the driver's integer types.
fn launch_config(blocks: u64, block_size: u64, shared: u64) -> Result<LaunchConfig> {
    let to32 =
        |v: u64, what: &str| u32::try_from(v).map_err(|_| Error::Gpu(format!("{what} {v} does not fit a launch")));
    Ok(LaunchConfig {
        grid_dim: (to32(blocks, "grid of")?, 1, 1),
        block_dim: (to32(block_size, "block of")?, 1, 1),
        shared_mem_bytes: to32(shared, "dynamic shared bytes")?,
    })
}

/// A user kernel's `io` array on the card (`tune --kernel`): the filled
/// pattern kept apart, copied into the working array before every launch.
pub struct UserArrays {
    pristine: CudaSlice<u8>,
    io: CudaSlice<u8>,
    runs: u64,
}

impl Gpu {
    /// Copies the filled `io` array of `runs` runs to the card, twice (the
    /// pattern and the array the kernel works on).
    pub fn user_arrays(&self, io: &[u8], runs: u64) -> Result<UserArrays> {
        let err = |e| gpu_error("allocating the io array", e);
        let pristine = self.stream.clone_htod(io).map_err(err)?;
        let io = self.stream.clone_htod(io).map_err(err)?;
        Ok(UserArrays { pristine, io, runs })
    }

    /// Launches a user kernel (`smemplan_kernel(unsigned char* io, unsigned
    /// long long runs)`) once untimed and `repeats` times timed with CUDA
    /// events, at `block_size` threads per block and `shared` dynamic
    /// shared bytes; `io` is reset to the pattern before each launch
    /// (outside the timed region) and read back after the last.
    pub fn time_user_kernel(
        &self,
        kernel: &CompiledKernel,
        arrays: &mut UserArrays,
        block_size: u64,
        shared: u64,
        repeats: usize,
    ) -> Result<(Vec<f64>, Vec<u8>)> {
        let cfg = launch_config(arrays.runs.div_ceil(block_size.max(1)), block_size, shared)?;
        let times_ms = self.timed(
            repeats,
            "the user kernel",
            arrays,
            |gpu, arrays| {
                gpu.stream.memcpy_dtod(&arrays.pristine, &mut arrays.io).map_err(|e| gpu_error("resetting io", e))
            },
            |gpu, arrays| {
                let mut launch = gpu.stream.launch_builder(&kernel.func);
                launch.arg(&mut arrays.io).arg(&arrays.runs);
                // SAFETY: the launch contract (`user_kernel`) makes the entry
                // (unsigned char* io, unsigned long long runs), each thread
                // touching its own run's slice of `io` only and threads at or
                // past `runs` returning at once; `io` holds `runs` slices; the
                // dynamic shared memory is the layout's bytes for this block,
                // within the limit set at compile time. A kernel breaking the
                // contract faults on the card, which the driver reports.
                unsafe { launch.launch(cfg) }.map(drop).map_err(|e| gpu_error("launching the user kernel", e))
            },
        )?;
        let out = self.stream.clone_dtoh(&arrays.io).map_err(|e| gpu_error("reading io", e))?;
        Ok((times_ms, out))
    }
}
