//! The positions of two bytes in a buffer, in order: the tokeniser's inner loop (spaces and
//! newlines). `memchr::memchr2_iter` restarts a vector search at every match, which costs more
//! than the match itself when matches are a dozen bytes apart, as fields are. This finds them
//! 64 bytes at a time: one bit mask per block, then one bit per match.

/// Iterates over the positions of `a` and `b` in a slice (see [`Separators::new`]).
pub struct Separators<'a> {
    data: &'a [u8],
    a: u8,
    b: u8,
    /// Where the block of `mask` starts.
    base: usize,
    /// Matches of the current block not yet returned, one bit per byte.
    mask: u64,
}

impl<'a> Separators<'a> {
    /// The positions in `data` of every byte equal to `a` or `b`, ascending.
    pub fn new(data: &'a [u8], a: u8, b: u8) -> Self {
        let mask = block_mask(data, 0, a, b);
        Self {
            data,
            a,
            b,
            base: 0,
            mask,
        }
    }
}

impl Iterator for Separators<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 64;
            if self.base >= self.data.len() {
                return None;
            }
            self.mask = block_mask(self.data, self.base, self.a, self.b);
        }
        let bit = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.base + bit)
    }
}

/// The matches of `a` or `b` in the 64 bytes of `data` from `base` (fewer at its end), bit `i`
/// for byte `base + i`.
#[inline]
fn block_mask(data: &[u8], base: usize, a: u8, b: u8) -> u64 {
    let rest = data.get(base..).unwrap_or_default();
    match rest.first_chunk::<64>() {
        Some(block) => full_block_mask(block, a, b),
        None => {
            let mut m = 0u64;
            for (i, &c) in rest.iter().enumerate() {
                m |= ((c == a || c == b) as u64) << i;
            }
            m
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn full_block_mask(block: &[u8; 64], a: u8, b: u8) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let mut m = 0u64;
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always available;
    // each unaligned load reads 16 of the 64 bytes of `block`.
    unsafe {
        let va = _mm_set1_epi8(a as i8);
        let vb = _mm_set1_epi8(b as i8);
        for i in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(i * 16).cast::<__m128i>());
            let hit = _mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb));
            m |= ((_mm_movemask_epi8(hit) as u32 & 0xFFFF) as u64) << (i * 16);
        }
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn full_block_mask(block: &[u8; 64], a: u8, b: u8) -> u64 {
    let mut m = 0u64;
    for (i, &c) in block.iter().enumerate() {
        m |= ((c == a || c == b) as u64) << i;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(data: &[u8], a: u8, b: u8) -> Vec<usize> {
        (0..data.len())
            .filter(|&i| data[i] == a || data[i] == b)
            .collect()
    }

    #[test]
    fn blocks_and_tails() {
        for len in [0, 1, 15, 16, 63, 64, 65, 127, 128, 200] {
            let data: Vec<u8> = (0..len)
                .map(|i| {
                    if i % 7 == 0 {
                        b' '
                    } else if i % 11 == 0 {
                        b'\n'
                    } else {
                        b'x'
                    }
                })
                .collect();
            let got: Vec<usize> = Separators::new(&data, b' ', b'\n').collect();
            assert_eq!(got, naive(&data, b' ', b'\n'), "len {len}");
        }
    }

    proptest! {
        #[test]
        fn same_as_a_byte_by_byte_search(
            data in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'\n'), any::<u8>()], 0..300),
            skip in 0usize..70,
        ) {
            let data = &data[skip.min(data.len())..];
            let got: Vec<usize> = Separators::new(data, b' ', b'\n').collect();
            prop_assert_eq!(got, naive(data, b' ', b'\n'));
        }
    }
}
