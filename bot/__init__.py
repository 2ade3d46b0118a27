"""digestbot's runtime: configuration, scheduler, command router and chat adapters."""
