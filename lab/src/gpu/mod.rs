//! Layouts on a real card: the integrity walk, the occupancy model against
//! the driver.
//!
//! ```text
//!  plan ─▶ Allocation ─▶ integrity::source (header + timeline walk) ─▶ NVRTC ─▶ launch ─▶ clobbers
//!  DeviceProfile::occupancy ◀──── compare ────▶ cuOccupancyMaxActiveBlocksPerMultiprocessor
//!  plan (stride, local bytes) ─▶ standin::source ─▶ NVRTC ─▶ timed at any block size
//!  plan ─▶ Allocation ─▶ user_kernel::header + the user's source ─▶ NVRTC ─▶ timed, io compared
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
pub mod standin;
pub mod sweep;
pub mod user_kernel;

use crate::error::{Error, Result};
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// The start of cudarc's panic when a loaded `libcuda` or `libnvrtc` lacks
/// a function it looks up (it resolves each on first call).
const MISSING_SYMBOL: &str = "Missing symbol";

/// Runs `f` (work that calls into cudarc), turning cudarc's panic on a
/// function the loaded `libcuda` or `libnvrtc` lacks into one
/// [`Error::Gpu`] line instead of a crash; any other panic unwinds on as
/// before. The panic hook is told once to stay quiet about such panics
/// (others it reports as it did).
pub fn guarded<T, E: From<Error>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !message(info.payload()).is_some_and(|m| m.starts_with(MISSING_SYMBOL)) {
                previous(info);
            }
        }));
    });
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(outcome) => outcome,
        Err(payload) => match message(&*payload) {
            Some(m) if m.starts_with(MISSING_SYMBOL) => {
                let line = m.split_whitespace().collect::<Vec<_>>().join(" ");
                Err(Error::Gpu(format!(
                    "the CUDA driver or NVRTC library found lacks a function this build needs (too old?): {line}"
                ))
                .into())
            }
            _ => panic::resume_unwind(payload),
        },
    }
}

fn message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied())
}

/// A warning when `card` (the driver's name, `NVIDIA H100 80GB HBM3`) is the
/// card of a built-in profile other than `profile`, the one the estimate
/// uses: its ranking then describes another card (the lab's `--device`
/// defaults to `h200`, and an H100 differs in HBM rate). A profile names its
/// card by its name, `-` read as a space (`h100`, `rtx-4070-super`).
pub fn profile_mismatch(card: &str, profile: &str) -> Option<String> {
    let words = format!(" {} ", card.to_uppercase());
    let profiles = smemplan::perf::occupancy::DeviceProfile::builtin().ok()?;
    let own = profiles.iter().find(|p| words.contains(&format!(" {} ", p.name.to_uppercase().replace('-', " "))))?;
    (own.name != profile).then(|| {
        format!(
            "warning: the card is an {card}, whose profile is `{}`, but the estimate uses `{profile}` (--device {})",
            own.name, own.name
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_of_another_profile_is_named() {
        let w = profile_mismatch("NVIDIA H100 80GB HBM3", "h200").unwrap();
        assert!(w.contains("`h100`") && w.contains("`h200`") && w.contains("--device h100"), "{w}");
        assert_eq!(profile_mismatch("NVIDIA H100 80GB HBM3", "h100"), None);
        assert_eq!(profile_mismatch("NVIDIA H200", "h200"), None);
        assert!(profile_mismatch("NVIDIA GeForce RTX 4070 SUPER", "h100").unwrap().contains("`rtx-4070-super`"));
        // A card no profile describes: nothing to say.
        assert_eq!(profile_mismatch("NVIDIA GH100 Engineering Sample", "h100"), None);
        assert_eq!(profile_mismatch("NVIDIA L4", "h200"), None);
    }

    #[test]
    fn a_missing_symbol_is_one_error_line_and_other_panics_unwind() {
        let e = guarded::<(), Error>(|| panic!("Missing symbol cuFoo: /lib/libcuda.so: undefined\nsymbol: cuFoo"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("GPU: the CUDA driver or NVRTC library") && e.contains("cuFoo") && !e.contains('\n'),
            "{e}"
        );
        // From rayon's workers too (the payload is carried to the caller).
        let e = guarded::<(), Error>(|| {
            use rayon::prelude::*;
            (0..4).into_par_iter().for_each(|i| {
                if i == 2 {
                    panic!("Missing symbol nvrtcBar: gone")
                }
            });
            Ok(())
        })
        .unwrap_err();
        assert!(e.to_string().contains("nvrtcBar"), "{e}");
        assert_eq!(guarded::<u8, Error>(|| Ok(3)), Ok(3));
        let other = panic::catch_unwind(|| guarded::<(), Error>(|| panic!("a real bug")));
        assert_eq!(other.unwrap_err().downcast_ref::<&str>(), Some(&"a real bug"));
    }
}
