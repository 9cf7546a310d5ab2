"""The PyTorch side (experiment ``tagging``). Nothing under this package may import TensorFlow: a process that
holds both crashes in torch's optimizer step (see DEVELOPERS.md)."""
