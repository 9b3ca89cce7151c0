"""Facts about the tasks a configuration may name, shared by the start-up check and the dataset
builder. Free of torch, so that Snakemake starts fast; a module of its own, so that editing how the
configuration is checked reruns no job (its decisions reach the jobs through their params)."""

from __future__ import annotations

S5_ORDER = 120  # |S5|: composition in S5 has 120 tokens


def is_prime(n: int) -> bool:
    """Division mod p needs every nonzero residue invertible: p prime."""
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))
