//! Issue 2: every example renders to a clean PDF/A; bad input is refused with French messages.
