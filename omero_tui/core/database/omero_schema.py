"""The part of OMERO's schema the check reads, with OMERO's own table and column names.

Written from ome/openmicroscopy ``sql/psql/OMERO5.4__0/schema.sql`` and the upgrade
scripts (``repo`` and ``mimetype`` came with OMERO 5.0, ``hasher`` with 5.0 too, the
``params`` column went in 5.4). Only for the demo's and the tests' throw-away cluster;
columns the check never reads are kept where they are NOT NULL in OMERO, so an
insert that works here has the shape it would have there.
"""

SCHEMA_SQL = """
CREATE TABLE configuration (name varchar(255) PRIMARY KEY, value text);
CREATE TABLE experimentergroup (
    id int8 PRIMARY KEY, permissions int8 NOT NULL DEFAULT -120, name varchar(255) NOT NULL UNIQUE,
    ldap bool NOT NULL DEFAULT false, version int4, external_id int8);
CREATE TABLE experimenter (
    id int8 PRIMARY KEY, permissions int8 NOT NULL DEFAULT 0, omename varchar(255) NOT NULL UNIQUE,
    firstname varchar(255) NOT NULL DEFAULT '', lastname varchar(255) NOT NULL DEFAULT '',
    ldap bool NOT NULL DEFAULT false, version int4, external_id int8);
CREATE TABLE checksumalgorithm (
    id int8 PRIMARY KEY, permissions int8 NOT NULL DEFAULT -52, value varchar(255) NOT NULL UNIQUE,
    external_id int8);
CREATE TABLE originalfile (
    id int8 PRIMARY KEY, atime timestamp, ctime timestamp, permissions int8 NOT NULL DEFAULT -120,
    hash text, mimetype varchar(255), mtime timestamp, name text NOT NULL, path text NOT NULL,
    "size" int8, version int4, creation_id int8 NOT NULL DEFAULT 0, external_id int8,
    group_id int8 NOT NULL, owner_id int8 NOT NULL, update_id int8 NOT NULL DEFAULT 0,
    hasher int8 REFERENCES checksumalgorithm(id), repo varchar(36));
CREATE INDEX originalfile_mime_index ON originalfile (mimetype);
CREATE INDEX originalfile_repo_index ON originalfile (repo);
CREATE UNIQUE INDEX originalfile_repo_path_index ON originalfile (repo, path, name)
    WHERE repo IS NOT NULL;
CREATE TABLE fileset (
    id int8 PRIMARY KEY, templateprefix text NOT NULL, owner_id int8 NOT NULL,
    group_id int8 NOT NULL, permissions int8 NOT NULL DEFAULT -120);
CREATE TABLE image (
    id int8 PRIMARY KEY, name text NOT NULL, fileset int8 REFERENCES fileset(id),
    owner_id int8 NOT NULL, group_id int8 NOT NULL, permissions int8 NOT NULL DEFAULT -120);
CREATE TABLE pixels (
    id int8 PRIMARY KEY, image int8 NOT NULL REFERENCES image(id), owner_id int8 NOT NULL,
    group_id int8 NOT NULL, sizex int4 NOT NULL DEFAULT 1, sizey int4 NOT NULL DEFAULT 1,
    sizez int4 NOT NULL DEFAULT 1, sizec int4 NOT NULL DEFAULT 1, sizet int4 NOT NULL DEFAULT 1,
    permissions int8 NOT NULL DEFAULT -120);
CREATE TABLE thumbnail (
    id int8 PRIMARY KEY, pixels int8 NOT NULL REFERENCES pixels(id), owner_id int8 NOT NULL,
    group_id int8 NOT NULL, sizex int4 NOT NULL DEFAULT 96, sizey int4 NOT NULL DEFAULT 96,
    mimetype varchar(255) NOT NULL DEFAULT 'image/jpeg', permissions int8 NOT NULL DEFAULT -120);
INSERT INTO checksumalgorithm (id, value) VALUES
    (1, 'Adler-32'), (2, 'CRC-32'), (3, 'MD5-128'), (4, 'Murmur3-32'), (5, 'Murmur3-128'),
    (6, 'SHA1-160'), (7, 'File-Size-64');
"""
SHA1_ID, MD5_ID, FILE_SIZE_ID = 6, 3, 7
