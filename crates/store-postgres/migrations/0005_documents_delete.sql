-- Documents that end (a receipt's reading job, once read) are deleted, at the version read.
DO $$
BEGIN
    GRANT DELETE ON documents TO outlay_app;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    RAISE NOTICE 'outlay_app was not granted deleting documents: %', SQLERRM;
END;
$$;
