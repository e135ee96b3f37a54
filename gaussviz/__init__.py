"""gaussviz: watch online maximum-likelihood estimation of a Gaussian converge, crawl or blow up."""

__version__ = "0.1.0"
