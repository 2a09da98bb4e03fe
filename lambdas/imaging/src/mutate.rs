//! Deterministic mutations of image bytes, for the fuzz runs: the crate's own
//! (`tests/fuzz.rs`, on the library) and the integration test's (on the
//! deployed functions), so both try the same kinds of damage.

/// xorshift64*: deterministic, so a failure reproduces from the seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Any seed; zero is made odd, as xorshift needs.
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// `bytes` with one kind of damage: bytes overwritten, bits flipped, cut
/// short, or a stretch repeated.
pub fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return out;
    }
    match rng.below(4) {
        0 => {
            for _ in 0..=rng.below(16) {
                let at = rng.below(out.len());
                out[at] = rng.next_u64() as u8;
            }
        }
        1 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
        }
        2 => out.truncate(rng.below(out.len())),
        _ => {
            let start = rng.below(out.len());
            let len = rng.below(256).min(out.len() - start);
            let stretch = out[start..start + len].to_vec();
            let at = rng.below(out.len());
            out.splice(at..at, stretch);
        }
    }
    out
}
