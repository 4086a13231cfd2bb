SELECT set_config('search_path', 'consentry_rebuild, ' || $1, true)
