"""Keras 3 (TensorFlow backend) machinery shared by experiments mosaic, masked, complementary, landmark.

Importing this package imports TensorFlow; never import it from a process that uses torch.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
