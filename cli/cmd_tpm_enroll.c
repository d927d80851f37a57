/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpmattest enroll request | activate: the attester's two steps of the
 * enrollment (docs/enrollment.md, "The four steps"), run in tpmattest-tpm.
 * Files are written only after the TPM connection is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include <tpmattest/counterauth.h>
#include <tpmattest/enroll.h>

#include "cmd_tpm.h"

static const char request_usage[] =
        "usage: tpmattest enroll request --out REQUEST.json [--ak-alg ecc|rsa] [--ak-handle H]\n"
        "                                [--nv-index I] [--counter-key FILE] [--json]\n"
        "                                [--tcti SPEC]\n"
        "\n"
        "Provisions the AK and the counter as `tpmattest init` does, then writes what a\n"
        "verifier needs to enroll this TPM: both default EKs (RSA 2048, ECC P-256) with\n"
        "their certificates, the EK chain certificates of NV 0x01C00100-0x01C001FF, the\n"
        "AK's public area and qualified name, the counter's NV public area, and the\n"
        "TPM's manufacturer, vendor strings and firmware version.\n"
        "  --out FILE        the request (\"-\": stdout)\n"
        "  --ak-alg ALG      ecc (default) or rsa, when the AK has to be created\n"
        "  --ak-handle H     persistent AK handle (default 0x81000100)\n"
        "  --nv-index I      NV counter index (default 0x01000100, with --counter-key\n"
        "                    0x01000101)\n"
        "  --counter-key FILE  the verifier's counter key ({\"public\",...}: tpmattest\n"
        "                    counter public, GET /v1/counter-key): provision the counter\n"
        "                    only that verifier's authorizations can increment\n"
        "  --json            print a JSON summary on stdout\n" TCTI_HELP_AT(
                "       ", "                    ") "  -h, --help        this text\n";

static const char activate_usage[] =
        "usage: tpmattest enroll activate CHALLENGE.json --out RESPONSE.json [--json]\n"
        "                                 [--tcti SPEC]\n"
        "\n"
        "TPM2_ActivateCredential of the verifier's challenge with the AK at its handle\n"
        "and the EK it names; writes the recovered secret (mode 0600).  Exit 4 when the\n"
        "TPM refuses the credential (it was made for another TPM or another key).\n"
        "  --out FILE        the response\n"
        "  --json            print a JSON summary on stdout\n" TCTI_HELP_AT(
                "       ", "                    ") "  -h, --help        this text\n";

static int write_doc(const char *cmd, const char *path, const char *doc, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(doc);
	int fd;
	if (strcmp(path, "-") == 0) {
		if (fputs(doc, stdout) < 0 || fputc('\n', stdout) < 0 || fflush(stdout) != 0)
			goto fail_out;
		return EXIT_OK;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto fail_out;
	}
	if ((fd = mkstemp(tmp)) < 0)
		goto fail_out;
	if (write(fd, doc, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		goto fail_out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		goto fail_out;
	}
	return EXIT_OK;
fail_out:
	errmsg("%s: %s: cannot write: %s", cmd, path, strerror(errno));
	return EXIT_ENV;
}

int cmd_enroll_request(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"out", required_argument, NULL, 'o'},
	        {"ak-alg", required_argument, NULL, 'a'},
	        {"ak-handle", required_argument, NULL, 'k'},
	        {"nv-index", required_argument, NULL, 'n'},
	        {"counter-key", required_argument, NULL, 'K'},
	        {"json", no_argument, NULL, 'j'},
	        {"tcti", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	static const char cmd[] = "enroll request";
	tpa_provision_opts po = {0};
	uint8_t counter_policy[32], key_name[TPA_COUNTER_NAME_LEN];
	const char *counter_key = NULL;
	tpa_provision_info info;
	tpa_tpm_info ti;
	const char *tcti = NULL, *out = NULL;
	bool json = false;
	tpa_tpm *tpm = NULL;
	tpa_enroll_request *req;
	char *doc = NULL;
	int c, r, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 't': tcti = optarg; break;
		case 'K': counter_key = optarg; break;
		case 'a':
			if (!parse_key_alg(optarg, &po.ak_alg))
				return usage_error(request_usage,
				                   "%s: --ak-alg must be ecc or rsa, not '%s'", cmd,
				                   optarg);
			break;
		case 'k':
			if (!parse_u32(optarg, &po.ak_handle))
				return usage_error(request_usage, "%s: bad --ak-handle '%s'", cmd,
				                   optarg);
			break;
		case 'n':
			if (!parse_u32(optarg, &po.nv_index))
				return usage_error(request_usage, "%s: bad --nv-index '%s'", cmd,
				                   optarg);
			break;
		case 'h': fputs(request_usage, stdout); return EXIT_OK;
		default: return usage_error(request_usage, "%s: bad option", cmd);
		}
	}
	if (optind < argc)
		return usage_error(request_usage, "%s: unexpected argument '%s'", cmd,
		                   argv[optind]);
	if (!out)
		return usage_error(request_usage, "%s: --out FILE is required", cmd);
	if (counter_key) {
		if ((rc = cli_counter_key_from_file(counter_key, key_name)) != EXIT_OK)
			return rc;
	}
	if (!(req = calloc(1, sizeof(*req)))) {
		errmsg("%s: out of memory", cmd);
		return EXIT_ENV;
	}
	if ((rc = tpm_connect(cmd, tcti, &tpm)) != EXIT_OK)
		goto done;
	{
		static const uint16_t algs[2] = {TPA_KEY_RSA, TPA_KEY_ECC};
		tpa_enroll_ek *eks[2] = {&req->ek_rsa, &req->ek_ecc};
		for (size_t i = 0; i < 2; i++) {
			uint8_t *pub = NULL;
			size_t plen = 0;
			if ((r = tpa_tpm_ek(tpm, algs[i], &pub, &plen, &eks[i]->cert,
			                    &eks[i]->cert_len)) != TPA_OK)
				goto tpm_failed;
			if (plen > sizeof(eks[i]->public_area)) {
				free(pub);
				errmsg("%s: the EK's public area is larger than expected", cmd);
				rc = EXIT_ENV;
				goto done;
			}
			memcpy(eks[i]->public_area, pub, plen);
			eks[i]->public_len = plen;
			eks[i]->present = 1;
			free(pub);
		}
	}
	/* the counter's policy is this machine's: PolicyAuthorize by the
	 * verifier's key with the machine id (SHA-256 of the ECC EK) */
	if (counter_key) {
		uint8_t mid[TPA_COUNTER_MACHINE_LEN];
		if (tpa_counter_machine_id(req->ek_ecc.public_area, req->ek_ecc.public_len, mid) !=
		            TPA_OK ||
		    tpa_counter_policy(key_name, mid, counter_policy) != TPA_OK) {
			errmsg("%s: cannot compute the counter's policy", cmd);
			rc = EXIT_ENV;
			goto done;
		}
		po.counter_policy = counter_policy;
	}
	if ((r = tpa_tpm_provision(tpm, &po, &info)) != TPA_OK)
		goto tpm_failed;
	if ((r = tpa_tpm_ek_chain(tpm, req->chain, req->chain_len, TPA_ENROLL_MAX_CHAIN,
	                          &req->n_chain)) != TPA_OK ||
	    (r = tpa_tpm_read_public(tpm, info.ak_handle, req->ak_public, sizeof(req->ak_public),
	                             &req->ak_public_len, req->ak_qualified_name,
	                             sizeof(req->ak_qualified_name),
	                             &req->ak_qualified_name_len)) != TPA_OK ||
	    (r = tpa_tpm_nv_public(tpm, info.nv_index, req->counter_public,
	                           sizeof(req->counter_public), &req->counter_public_len)) !=
	            TPA_OK ||
	    (r = tpa_tpm_info_get(tpm, &ti)) != TPA_OK)
		goto tpm_failed;
	tpm_disconnect(&tpm);
	req->ak_handle = info.ak_handle;
	req->counter_index = info.nv_index;
	snprintf(req->tpm_manufacturer, sizeof(req->tpm_manufacturer), "%s", ti.manufacturer);
	snprintf(req->tpm_vendor, sizeof(req->tpm_vendor), "%s", ti.vendor);
	req->tpm_firmware1 = ti.firmware1;
	req->tpm_firmware2 = ti.firmware2;
	if ((r = tpa_enroll_request_to_json(req, &doc)) != TPA_OK) {
		errmsg("%s: %s", cmd, tpa_strerror(r));
		rc = exit_for(r);
		goto done;
	}
	if ((rc = write_doc(cmd, out, doc, 0644)) != EXIT_OK)
		goto done;
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "out", json_object_new_string(out));
		json_object_object_add(o, "ek_rsa_certificate",
		                       json_object_new_boolean(req->ek_rsa.cert != NULL));
		json_object_object_add(o, "ek_ecc_certificate",
		                       json_object_new_boolean(req->ek_ecc.cert != NULL));
		json_object_object_add(o, "chain_certificates",
		                       json_object_new_int((int)req->n_chain));
		json_object_object_add(o, "manufacturer",
		                       json_object_new_string(req->tpm_manufacturer));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		                                               JSON_C_TO_STRING_SPACED));
		json_object_put(o);
	} else if (strcmp(out, "-") != 0) {
		printf("enrollment request written to %s (%s %s; EK certificates: RSA %s, ECC %s; "
		       "%zu chain certificates)\n",
		       out, req->tpm_manufacturer, req->tpm_vendor, req->ek_rsa.cert ? "yes" : "no",
		       req->ek_ecc.cert ? "yes" : "no", req->n_chain);
	}
	rc = EXIT_OK;
	goto done;
tpm_failed:
	rc = tpm_report(cmd, tpm, r);
done:
	tpm_disconnect(&tpm);
	free(doc);
	tpa_enroll_request_clear(req);
	free(req);
	return rc;
}

int cmd_enroll_activate(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"out", required_argument, NULL, 'o'},
	        {"json", no_argument, NULL, 'j'},
	        {"tcti", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	static const char cmd[] = "enroll activate";
	const char *tcti = NULL, *out = NULL, *chp;
	bool json = false;
	tpa_tpm *tpm = NULL;
	tpa_enroll_challenge ch;
	tpa_enroll_response resp;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *doc = NULL, why[256] = "";
	int c, r, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 't': tcti = optarg; break;
		case 'h': fputs(activate_usage, stdout); return EXIT_OK;
		default: return usage_error(activate_usage, "%s: bad option", cmd);
		}
	}
	if (optind + 1 != argc)
		return usage_error(activate_usage, "%s: give one CHALLENGE.json", cmd);
	chp = argv[optind];
	if (!out)
		return usage_error(activate_usage, "%s: --out FILE is required", cmd);
	r = read_file(chp, TPA_ENROLL_JSON_MAX, &buf, &len);
	if (r != TPA_OK) {
		errmsg("%s: %s: cannot read: %s", cmd, chp,
		       r == TPA_E_LIMIT ? "too large" : strerror(errno));
		return r == TPA_E_LIMIT ? EXIT_MALFORMED : EXIT_ENV;
	}
	r = tpa_enroll_challenge_from_json((const char *)buf, len, &ch, why, sizeof(why));
	free(buf);
	if (r != TPA_OK) {
		errmsg("%s: %s: not an enrollment challenge: %s", cmd, chp,
		       why[0] ? why : tpa_strerror(r));
		return exit_for(r);
	}
	memset(&resp, 0, sizeof(resp));
	if ((rc = tpm_connect(cmd, tcti, &tpm)) != EXIT_OK)
		return rc;
	r = tpa_tpm_activate_credential(tpm, ch.ek_alg, ch.ak_handle, ch.credential.id_object,
	                                ch.credential.id_object_len, ch.credential.encrypted_secret,
	                                ch.credential.encrypted_secret_len, resp.secret,
	                                sizeof(resp.secret), &resp.secret_len);
	if (r != TPA_OK) {
		rc = tpm_report(cmd, tpm, r);
		tpm_disconnect(&tpm);
		return rc;
	}
	tpm_disconnect(&tpm);
	memcpy(resp.id, ch.id, sizeof(resp.id));
	if ((r = tpa_enroll_response_to_json(&resp, &doc)) != TPA_OK) {
		errmsg("%s: %s", cmd, tpa_strerror(r));
		rc = exit_for(r);
	} else if ((rc = write_doc(cmd, out, doc, 0600)) == EXIT_OK) {
		if (json) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "out", json_object_new_string(out));
			json_object_object_add(o, "activated", json_object_new_boolean(1));
			puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
			                                               JSON_C_TO_STRING_SPACED));
			json_object_put(o);
		} else if (strcmp(out, "-") != 0) {
			printf("credential activated; response written to %s\n", out);
		}
	}
	if (doc)
		OPENSSL_cleanse(doc, strlen(doc));
	free(doc);
	OPENSSL_cleanse(&resp, sizeof(resp));
	return rc;
}
