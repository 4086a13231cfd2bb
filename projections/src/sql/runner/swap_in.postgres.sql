SELECT consentry_rebuild.swap_in($1::regclass)
