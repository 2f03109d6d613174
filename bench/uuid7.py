"""UUIDv7 ids as 16-byte blobs, as cosell makes them (`Uuid::now_v7()`), for the SQLite
seeds: rows created together sit together in the primary-key and foreign-key indexes."""
import os


def uuid7(ms: int) -> bytes:
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)
    v = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return v.to_bytes(16, "big")
