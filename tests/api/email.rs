//! Email (SPEC §8): who gets what, both parts, retries, failures, crashes.
