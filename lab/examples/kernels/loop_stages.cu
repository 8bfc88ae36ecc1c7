// A worked example of `smemplan-lab tune --kernel` (docs/tune-kernel.md):
// a few explicit stages per run through the integrator loop's buffers,
// which every built-in model has (parts/loop.toml at kernel/loop), so it
// runs on the default model and on any other.
//
// Each run seeds the loop's state, parameters and drivers from its `io`
// slice, takes STEPS steps (proposed drivers, proposed state, proposed
// observables; accept or reject; commit), then writes a digest of its state,
// observables and counters over its `io` slice. Every value is an integer
// below 2^24 held in the buffers' own type (float or double), and every
// operation on them is exact, so the results cannot depend on where the
// buffers live, how the compiler contracts or orders the arithmetic, or the
// precision: every layout must leave `io` bitwise alike. The proposed
// buffers are used only within a step (their lifetime, `loop.step` to
// `loop.commit`); the rest live the whole run.
#include "smemplan_layout.cuh"

namespace {

constexpr int STEPS = 12;
// Values stay in [0, MOD): a product of two and a few sums stay far below
// 2^24, exact in float (and in int, where the remainder is taken).
constexpr int MOD = 251;

template <typename T>
__device__ __forceinline__ T wrap(T v) {
    return static_cast<T>(static_cast<int>(v) % MOD);
}

// Element i of a buffer of n elements, cycling (0 for an empty buffer).
__device__ __forceinline__ unsigned long long cycle(unsigned long long i, unsigned long long n) {
    return n ? i % n : 0;
}

template <typename T>
__device__ void stages(T* state, const smemplan_buffers::memory& m, unsigned char* io) {
    namespace b = smemplan_buffers;
    namespace count = smemplan_buffers::elements;
    const unsigned long long N = count::loop__state, P = count::loop__parameters, D = count::loop__drivers,
                             O = count::loop__observables, IO = b::io_bytes;
    T* proposed_state = b::loop__proposed_state(m);
    T* parameters = b::loop__parameters(m);
    T* drivers = b::loop__drivers(m);
    T* proposed_drivers = b::loop__proposed_drivers(m);
    T* observables = b::loop__observables(m);
    T* proposed_observables = b::loop__proposed_observables(m);
    T* dt = b::loop__dt(m);
    int* accept_step = b::loop__accept_step(m);
    int* proposed_counters = b::loop__proposed_counters(m);

    // init: seeded from this run's io slice.
    for (unsigned long long i = 0; i < N; ++i) state[i] = static_cast<T>(io[cycle(i, IO)] % MOD);
    for (unsigned long long i = 0; i < P; ++i) parameters[i] = static_cast<T>(io[cycle(i + 7, IO)] % 7 + 1);
    for (unsigned long long i = 0; i < D; ++i) drivers[i] = static_cast<T>(i + 1);
    for (unsigned long long i = 0; i < O; ++i) observables[i] = static_cast<T>(0);
    dt[0] = static_cast<T>(1);
    accept_step[0] = 0;
    proposed_counters[0] = 0;
    proposed_counters[1] = 0;

    for (int step = 0; step < STEPS; ++step) {
        // loop.step: the proposed values.
        for (unsigned long long j = 0; j < D; ++j) proposed_drivers[j] = wrap(drivers[j] * static_cast<T>(3) + static_cast<T>(step));
        for (unsigned long long i = 0; i < N; ++i) {
            const T a = P ? parameters[cycle(i, P)] : static_cast<T>(1);
            const T u = D ? proposed_drivers[cycle(i, D)] : static_cast<T>(0);
            proposed_state[i] = wrap(state[i] * a + dt[0] * u + state[cycle(i + 1, N)]);
        }
        for (unsigned long long k = 0; k < O; ++k) {
            T sum = static_cast<T>(0);
            for (unsigned long long i = 0; i < N; ++i) sum = wrap(sum + proposed_state[i] * static_cast<T>(k + 1));
            proposed_observables[k] = sum;
        }
        // loop.control: accept every third step and any whose first
        // proposed value is even.
        const int first = N ? static_cast<int>(proposed_state[0]) : 0;
        accept_step[0] = (first % 2 == 0 || step % 3 == 0) ? 1 : 0;
        proposed_counters[accept_step[0] ? 0 : 1] += 1;
        // loop.commit.
        if (accept_step[0]) {
            for (unsigned long long i = 0; i < N; ++i) state[i] = proposed_state[i];
            for (unsigned long long j = 0; j < D; ++j) drivers[j] = proposed_drivers[j];
            for (unsigned long long k = 0; k < O; ++k) observables[k] = proposed_observables[k];
        }
    }

    // output: a digest over this run's io slice.
    for (unsigned long long i = 0; i < IO; ++i) {
        const int s = N ? static_cast<int>(state[cycle(i, N)]) : 0;
        const int o = O ? static_cast<int>(observables[cycle(i, O)]) : 0;
        const int d = D ? static_cast<int>(drivers[cycle(i, D)]) : 0;
        io[i] = static_cast<unsigned char>(s + 17 * o + 5 * d + 31 * proposed_counters[i % 2] + static_cast<int>(i % 256));
    }
}

}  // namespace

extern "C" __global__ void smemplan_kernel(unsigned char* io, unsigned long long runs) {
    extern __shared__ __align__(16) unsigned char shared[];
    const unsigned long long run = static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (run >= runs) return;
    alignas(8) unsigned char local[smemplan_layout::local_bytes + 1];
    alignas(8) unsigned char persistent_local[smemplan_layout::persistent_local_bytes + 1];
    const smemplan_buffers::memory m{shared, threadIdx.x, local, persistent_local};
    stages(smemplan_buffers::loop__state(m), m, io + run * smemplan_buffers::io_bytes);
}
