"""The demos of the seed's claims and the ``tinygrad-seq`` command line (``demos.cli``)."""
