"""The speed suite: W1–W5 timed in tinygrad_seq, the NumPy floor and PyTorch CPU.

Run ``python -m benchmarks --help`` from the repository root (or ``tinygrad-seq bench``).
Nothing is imported here, so a worker process can set its BLAS threads before NumPy loads.
"""
