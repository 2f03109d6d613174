//! The co-sell life cycle (SPEC §4-6), one test per rule, through the real server.
