//! Sids: lowercase base-36 of a store-wide counter, zero-padded to at least four characters.

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const MIN_WIDTH: usize = 4;

pub fn encode(mut n: u64) -> String {
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(ALPHABET[(n % 36) as usize]);
        n /= 36;
    }
    while digits.len() < MIN_WIDTH {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("base-36 digits are ASCII")
}

/// The counter value of a sid, or `None` when it is not lowercase base-36 (or overflows).
pub fn decode(sid: &str) -> Option<u64> {
    if sid.is_empty() || sid.len() > 12 {
        return None;
    }
    sid.bytes().try_fold(0u64, |acc, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            _ => return None,
        };
        acc.checked_mul(36)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_four_and_round_trips() {
        assert_eq!(encode(1), "0001");
        assert_eq!(encode(36), "0010");
        assert_eq!(encode(36u64.pow(4)), "10000");
        for n in [1, 35, 36, 1295, 1296, 1_679_615, 1_679_616, u32::MAX as u64] {
            assert_eq!(decode(&encode(n)), Some(n));
        }
    }

    #[test]
    fn rejects_foreign_text() {
        assert_eq!(decode("02J7"), None);
        assert_eq!(decode("ab-c"), None);
        assert_eq!(decode(""), None);
        assert_eq!(decode("zzzzzzzzzzzzz"), None);
    }
}
