"""A bench-only tenant app (bench/many_orgs.py): its one model has no migration in git; the
benchmark generates it at run time, in a throwaway package, as "a new migration" to run on
every organization's schema. Installed only by bench/many_orgs_settings.py."""
