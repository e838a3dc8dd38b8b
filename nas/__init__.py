"""Search orchestration: Optuna samples and prunes, Ray Tune runs, SQL stores."""
