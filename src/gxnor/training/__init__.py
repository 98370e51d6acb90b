"""Training and runs: the released training loop and everything around one run.

* schedule -- the learning-rate schedule, best-epoch bookkeeping, update_type;
* train -- the training loop (Trainer), its epoch report;
* checkpoint -- checkpoints (atomic, resumable, compressible);
* runs, files -- run folders (config.json, lock, environment facts), atomic writes;
* orchestration -- one experiment run from a configuration to its folder;
* curves, tables, longrun -- a run's curves and plot, results/README.md, the long run's
  report;
* replay -- the released MNIST script replayed and the reproduction check;
* warm -- Theano's compile cache filled ahead of a run.
"""
