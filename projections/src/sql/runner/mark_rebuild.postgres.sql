SET LOCAL application_name = 'consentry-rebuild'
