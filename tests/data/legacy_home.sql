-- An IMGEDIT_HOME database as imgedit made it before migrations (create_all, commit 833d03e):
-- one session of tenant 'acme' with two images, three versions of the first (head undone to
-- v1), a message, an entity, an API key, a finished job and a Figma upload.
-- tests/test_migrations.py loads it and upgrades it. Made with sqlite3's iterdump.
BEGIN TRANSACTION;
CREATE TABLE api_keys (
	id VARCHAR(32) NOT NULL, 
	tenant VARCHAR(128) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(tenant) REFERENCES tenants (name)
);
INSERT INTO "api_keys" VALUES('20b0621fc727','acme','b57e337e187549515b3175fa990c09f329d766ebcb9d748a2a86a5db46363381','legacy','2026-11-28 08:51:08.644257',NULL);
CREATE TABLE entities (
	id VARCHAR(64) NOT NULL, 
	session_id VARCHAR(64) NOT NULL, 
	image_id VARCHAR(64) NOT NULL, 
	version_id VARCHAR(64) NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	category VARCHAR(100) NOT NULL, 
	box JSON, 
	history JSON NOT NULL, 
	removed_version_id VARCHAR(64), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(session_id) REFERENCES sessions (id), 
	FOREIGN KEY(image_id) REFERENCES images (id), 
	FOREIGN KEY(version_id) REFERENCES versions (id)
);
INSERT INTO "entities" VALUES('c6ff6ab9d1ea41619e655b836f4e5ddc','legacy-session','407c5e78a8ef45f7b581561875a6653d','5d1b54a426a540469f730abffd12c6c9','徽章','badge','{"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}','[]',NULL,'2026-11-28 08:51:08.625788','2026-11-28 08:51:08.625792');
CREATE TABLE figma_results (
	job_id VARCHAR(64) NOT NULL, 
	upload_id VARCHAR(64) NOT NULL, 
	status VARCHAR(8) NOT NULL, 
	result_blob VARCHAR(64), 
	format VARCHAR(8), 
	width INTEGER, 
	height INTEGER, 
	error JSON, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (job_id, upload_id)
);
CREATE TABLE figma_uploads (
	tenant VARCHAR(128) NOT NULL, 
	blob VARCHAR(64) NOT NULL, 
	format VARCHAR(8) NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (tenant, blob)
);
INSERT INTO "figma_uploads" VALUES('acme','b33685e3149fff757e2bda226500fe616aad8ffa2342aa53ea9ef6653637c593','PNG',8,6,'2026-11-28 08:51:08.654076');
CREATE TABLE head_moves (
	id INTEGER NOT NULL, 
	session_id VARCHAR(64) NOT NULL, 
	image_id VARCHAR(64) NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	from_version_id VARCHAR(64), 
	to_version_id VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(session_id) REFERENCES sessions (id), 
	FOREIGN KEY(image_id) REFERENCES images (id)
);
INSERT INTO "head_moves" VALUES(1,'legacy-session','407c5e78a8ef45f7b581561875a6653d','upload',NULL,'07b8fdfef0dd4c2881b5206c6a2bd127','2026-11-28 08:51:08.533145');
INSERT INTO "head_moves" VALUES(2,'legacy-session','407c5e78a8ef45f7b581561875a6653d','edit','07b8fdfef0dd4c2881b5206c6a2bd127','5d1b54a426a540469f730abffd12c6c9','2026-11-28 08:51:08.568180');
INSERT INTO "head_moves" VALUES(3,'legacy-session','407c5e78a8ef45f7b581561875a6653d','edit','5d1b54a426a540469f730abffd12c6c9','31cc5f3e95124108953360c470b61542','2026-11-28 08:51:08.586055');
INSERT INTO "head_moves" VALUES(4,'legacy-session','36721f4e75584662a5c691416e01a4f0','upload',NULL,'867a0939b3a54adda3131f3396945242','2026-11-28 08:51:08.609369');
INSERT INTO "head_moves" VALUES(5,'legacy-session','407c5e78a8ef45f7b581561875a6653d','undo','31cc5f3e95124108953360c470b61542','5d1b54a426a540469f730abffd12c6c9','2026-11-28 08:51:08.619697');
CREATE TABLE images (
	id VARCHAR(64) NOT NULL, 
	session_id VARCHAR(64) NOT NULL, 
	position INTEGER NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	head_version_id VARCHAR(64), 
	redo_stack JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (session_id, position), 
	FOREIGN KEY(session_id) REFERENCES sessions (id)
);
INSERT INTO "images" VALUES('407c5e78a8ef45f7b581561875a6653d','legacy-session',1,'red.png','5d1b54a426a540469f730abffd12c6c9','["31cc5f3e95124108953360c470b61542"]','2026-11-28 08:51:08.524824');
INSERT INTO "images" VALUES('36721f4e75584662a5c691416e01a4f0','legacy-session',2,'grey.png','867a0939b3a54adda3131f3396945242','[]','2026-11-28 08:51:08.602059');
CREATE TABLE jobs (
	id VARCHAR(64) NOT NULL, 
	seq INTEGER NOT NULL, 
	tenant VARCHAR(128) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	pool VARCHAR(16) NOT NULL, 
	priority INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	params JSON NOT NULL, 
	input_blob VARCHAR(64), 
	cache_key VARCHAR(64), 
	idempotency_key VARCHAR(200), 
	progress_done INTEGER NOT NULL, 
	progress_total INTEGER NOT NULL, 
	result_blob VARCHAR(64), 
	result_format VARCHAR(16), 
	result JSON NOT NULL, 
	error JSON, 
	cached INTEGER NOT NULL, 
	attempts INTEGER NOT NULL, 
	seconds FLOAT, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (tenant, idempotency_key)
);
INSERT INTO "jobs" VALUES('job_legacy',1,'acme','edit','classic',0,'done','{"instruction": "\u53d8\u7eff"}',NULL,NULL,NULL,0,0,'260876b615c4ed71f3542c9f0edde2fba0eb1227c72cbb7c2f53f2fb9ac80d70','PNG','{}',NULL,0,0,NULL,'2026-11-28 08:51:08.650703',NULL,NULL);
CREATE TABLE messages (
	id INTEGER NOT NULL, 
	session_id VARCHAR(64) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	text TEXT NOT NULL, 
	data JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(session_id) REFERENCES sessions (id)
);
INSERT INTO "messages" VALUES(1,'legacy-session','user','把它变绿','{}','2026-11-28 08:51:08.624006');
CREATE TABLE sessions (
	id VARCHAR(64) NOT NULL, 
	tenant VARCHAR(128) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "sessions" VALUES('legacy-session','acme','旧海报','2026-11-28 08:51:08.488492','2026-11-28 08:51:08.488499');
CREATE TABLE tenants (
	name VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO "tenants" VALUES('acme','2026-11-28 08:51:08.642864');
CREATE TABLE versions (
	id VARCHAR(64) NOT NULL, 
	session_id VARCHAR(64) NOT NULL, 
	image_id VARCHAR(64) NOT NULL, 
	parent_id VARCHAR(64), 
	number INTEGER NOT NULL, 
	instruction TEXT NOT NULL, 
	resolved_instruction TEXT NOT NULL, 
	"plan" JSON, 
	engine VARCHAR(32) NOT NULL, 
	parameters JSON NOT NULL, 
	seed INTEGER, 
	timings JSON NOT NULL, 
	author VARCHAR(64) NOT NULL, 
	resolution JSON NOT NULL, 
	report JSON NOT NULL, 
	blob VARCHAR(64) NOT NULL, 
	format VARCHAR(8) NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (image_id, number), 
	FOREIGN KEY(session_id) REFERENCES sessions (id), 
	FOREIGN KEY(image_id) REFERENCES images (id), 
	FOREIGN KEY(parent_id) REFERENCES versions (id)
);
INSERT INTO "versions" VALUES('07b8fdfef0dd4c2881b5206c6a2bd127','legacy-session','407c5e78a8ef45f7b581561875a6653d',NULL,0,'','',NULL,'','{}',NULL,'{}','user','{}','{}','b33685e3149fff757e2bda226500fe616aad8ffa2342aa53ea9ef6653637c593','PNG',8,6,'2026-11-28 08:51:08.531186');
INSERT INTO "versions" VALUES('5d1b54a426a540469f730abffd12c6c9','legacy-session','407c5e78a8ef45f7b581561875a6653d','07b8fdfef0dd4c2881b5206c6a2bd127',1,'变绿','变绿','null','classic','{}',3,'{}','user','{}','{}','260876b615c4ed71f3542c9f0edde2fba0eb1227c72cbb7c2f53f2fb9ac80d70','PNG',8,6,'2026-11-28 08:51:08.561258');
INSERT INTO "versions" VALUES('31cc5f3e95124108953360c470b61542','legacy-session','407c5e78a8ef45f7b581561875a6653d','5d1b54a426a540469f730abffd12c6c9',2,'make it blue','make it blue','null','classic','{}',NULL,'{}','user','{}','{}','38e60cf2b1f64157e06f04e3580a532065dd6b4549685c8f99f2231946e3ec52','PNG',8,6,'2026-11-28 08:51:08.585129');
INSERT INTO "versions" VALUES('867a0939b3a54adda3131f3396945242','legacy-session','36721f4e75584662a5c691416e01a4f0',NULL,0,'','',NULL,'','{}',NULL,'{}','user','{}','{}','bf8728a0bfd65f5428080e5217a6f7b04165ce20f8bef03b252b55046c4ac27e','PNG',8,6,'2026-11-28 08:51:08.608640');
CREATE INDEX ix_sessions_tenant ON sessions (tenant);
CREATE INDEX ix_jobs_status ON jobs (status);
CREATE INDEX ix_jobs_seq ON jobs (seq);
CREATE INDEX ix_jobs_tenant ON jobs (tenant);
CREATE INDEX ix_jobs_cache_key ON jobs (cache_key);
CREATE INDEX ix_messages_session_id ON messages (session_id);
CREATE INDEX ix_images_session_id ON images (session_id);
CREATE INDEX ix_api_keys_tenant ON api_keys (tenant);
CREATE INDEX ix_versions_session_id ON versions (session_id);
CREATE INDEX ix_versions_image_id ON versions (image_id);
CREATE INDEX ix_head_moves_session_id ON head_moves (session_id);
CREATE INDEX ix_entities_image_id ON entities (image_id);
CREATE INDEX ix_entities_session_id ON entities (session_id);
COMMIT;
