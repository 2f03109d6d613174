//! The list tabs, filters, sorts and pages (SPEC §7), and batch loading (no N+1).
