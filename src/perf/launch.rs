//! A layout's launch on one device: the one place where a workload meets a
//! device's block sizes. Every caller asks the same questions of it, so
//! `plan`'s comparison, a sweep's rows, the lab's integrity walk and its
//! timed launches pick their block sizes by one rule:
//!
//! ```text
//!  Workload (stride, accesses, runs) ─┬─ cubie   CuBIE's halving pick for the requested size
//!  + device + requested block size    ├─ at(b)   the throughput estimate at block size b
//!                                     ├─ best    the block size of highest estimated throughput
//!                                     └─ search  every block size ranked, and why the pick won
//! ```
//!
//! CuBIE's pick halves the requested size until a block's dynamic shared
//! memory fits ([`DeviceProfile::limit_blocksize`]) on the workload's own
//! per-run stride, so the stride a caller puts in the workload (CuBIE's
//! padded bytes, or the allocator's odd-word stride) is the stride every
//! answer uses.

use crate::error::Result;
use crate::occupancy::{DeviceProfile, LimitedBlock};
use crate::throughput::{self, BlockSearch, Estimate, Workload};

/// A workload on a device, with the block size asked of CuBIE's rule.
#[derive(Debug, Clone, Copy)]
pub struct LaunchCase<'a> {
    /// The device whose limits decide.
    pub device: &'a DeviceProfile,
    /// What each run asks of it.
    pub workload: Workload,
    /// Threads per block asked of CuBIE's halving rule.
    pub requested: u64,
}

impl<'a> LaunchCase<'a> {
    /// `workload` on `device`, CuBIE asked for `requested` threads per block.
    pub fn new(device: &'a DeviceProfile, workload: Workload, requested: u64) -> LaunchCase<'a> {
        LaunchCase { device, workload, requested }
    }

    /// CuBIE's halving pick; an error when one run alone exceeds the
    /// per-block limit.
    pub fn cubie(&self) -> Result<LimitedBlock> {
        self.device.limit_blocksize(self.requested, self.workload.shared_bytes_per_run, self.workload.runs)
    }

    /// The estimate at `block_size` threads per block; `None` when such a
    /// block cannot launch.
    pub fn at(&self, block_size: u64) -> Result<Option<Estimate>> {
        throughput::estimate(self.device, &self.workload, block_size)
    }

    /// The fastest block size from 1 to the device's maximum, without the
    /// ranking; `None` when no block size can launch.
    pub fn best(&self) -> Result<Option<Estimate>> {
        throughput::best_block_size(self.device, &self.workload)
    }

    /// Every block size ranked, CuBIE's pick placed among them, and why the
    /// fastest won; an error when no block size can launch. Its pick is
    /// [`LaunchCase::best`]'s.
    pub fn search(&self) -> Result<BlockSearch> {
        throughput::search(self.device, &self.workload, self.requested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranking's pick is the unranked best, and CuBIE's pick is the
    /// halving rule on the workload's stride, estimated like the others.
    #[test]
    fn every_question_answers_alike() {
        let h100 = DeviceProfile::named("h100").unwrap();
        let workload = Workload {
            shared_bytes_per_run: 1580,
            shared_accesses: 1e5,
            local_accesses: 0.0,
            local_bytes_per_run: 0,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: 0,
            runs: 1 << 17,
        };
        let case = LaunchCase::new(&h100, workload, 256);
        let search = case.search().unwrap();
        assert_eq!(search.best(), &case.best().unwrap().unwrap());
        let cubie = case.cubie().unwrap();
        assert_eq!(cubie, h100.limit_blocksize(256, 1580, 1 << 17).unwrap());
        let pick = search.cubie.unwrap();
        assert_eq!(Some(pick.estimate), case.at(cubie.block_size).unwrap());
    }
}
