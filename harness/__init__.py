"""What the tests and the benchmarks share: a live server for the test site, and the site data they
make and clean up. Neither tests/ nor benchmarks/ imports the other."""
