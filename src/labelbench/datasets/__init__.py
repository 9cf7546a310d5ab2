"""Datasets: embedded (digits, shapes), downloaded (CIFAR-10, MNIST, Caltech101, NUS-WIDE), the user's own."""

from labelbench.datasets.store import Dataset, load_dataset, verify_dataset, write_dataset

__all__ = ["Dataset", "load_dataset", "verify_dataset", "write_dataset"]
