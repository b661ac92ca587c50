-- One database per service: each service owns its data.
CREATE DATABASE agriculture;
CREATE DATABASE industry;
CREATE DATABASE tourism;
CREATE DATABASE welfare;
CREATE DATABASE aggregator;
