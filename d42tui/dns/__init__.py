"""DNS target of a pair: query the authoritative servers, update through a backend."""
