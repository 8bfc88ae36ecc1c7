//! Layouts on a real card: the integrity walk, the occupancy model against
//! the driver.
//!
//! ```text
//!  plan ─▶ Allocation ─▶ integrity::source (header + timeline walk) ─▶ NVRTC ─▶ launch ─▶ clobbers
//!  DeviceProfile::occupancy ◀──── compare ────▶ cuOccupancyMaxActiveBlocksPerMultiprocessor
//! ```
//!
//! Generating kernels and comparing answers is plain Rust, built always and
//! tested on the host. Talking to the card (`device`) needs the cargo
//! feature `gpu` (cudarc, loading the driver and NVRTC at run time); it holds
//! the crate's only unsafe code.

#[cfg(feature = "gpu")]
pub mod device;
pub mod integrity;
pub mod measure;
pub mod occupancy_grid;
