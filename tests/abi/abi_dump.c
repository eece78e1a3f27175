/* Prints every enum value and struct layout of the plugin interface.
   Compiled once with `-include plugin-api.h` (the system's) and once with
   `-include ldprune-plugin-api.h` (ours); tests/abi.rs requires identical
   output, so a wrong number or layout in our header cannot pass. A name
   missing from either header fails to compile. */
#include <stddef.h>
#include <stdio.h>

#define V(x) printf("%s %ld\n", #x, (long)(x))
#define S(t) printf("sizeof %s %zu align %zu\n", #t, sizeof(t), _Alignof(t))
#define F(t, f) printf("offsetof %s.%s %zu size %zu\n", #t, #f, offsetof(t, f), sizeof(((t *)0)->f))

int main(void) {
  V(LDPS_OK); V(LDPS_NO_SYMS); V(LDPS_BAD_HANDLE); V(LDPS_ERR);
  V(LDPO_REL); V(LDPO_EXEC); V(LDPO_DYN); V(LDPO_PIE);
  V(LDPK_DEF); V(LDPK_WEAKDEF); V(LDPK_UNDEF); V(LDPK_WEAKUNDEF); V(LDPK_COMMON);
  V(LDPV_DEFAULT); V(LDPV_PROTECTED); V(LDPV_INTERNAL); V(LDPV_HIDDEN);
  V(LDST_UNKNOWN); V(LDST_FUNCTION); V(LDST_VARIABLE);
  V(LDSSK_DEFAULT); V(LDSSK_BSS);
  V(LDPR_UNKNOWN); V(LDPR_UNDEF); V(LDPR_PREVAILING_DEF); V(LDPR_PREVAILING_DEF_IRONLY);
  V(LDPR_PREEMPTED_REG); V(LDPR_PREEMPTED_IR); V(LDPR_RESOLVED_IR); V(LDPR_RESOLVED_EXEC);
  V(LDPR_RESOLVED_DYN); V(LDPR_PREVAILING_DEF_IRONLY_EXP);
  V(LDPL_INFO); V(LDPL_WARNING); V(LDPL_ERROR); V(LDPL_FATAL);
  V(LDPT_NULL); V(LDPT_API_VERSION); V(LDPT_GOLD_VERSION); V(LDPT_LINKER_OUTPUT);
  V(LDPT_OPTION); V(LDPT_REGISTER_CLAIM_FILE_HOOK); V(LDPT_REGISTER_ALL_SYMBOLS_READ_HOOK);
  V(LDPT_REGISTER_CLEANUP_HOOK); V(LDPT_ADD_SYMBOLS); V(LDPT_GET_SYMBOLS);
  V(LDPT_ADD_INPUT_FILE); V(LDPT_MESSAGE); V(LDPT_GET_INPUT_FILE); V(LDPT_RELEASE_INPUT_FILE);
  V(LDPT_ADD_INPUT_LIBRARY); V(LDPT_OUTPUT_NAME); V(LDPT_SET_EXTRA_LIBRARY_PATH);
  V(LDPT_GNU_LD_VERSION); V(LDPT_GET_VIEW); V(LDPT_GET_INPUT_SECTION_COUNT);
  V(LDPT_GET_INPUT_SECTION_TYPE); V(LDPT_GET_INPUT_SECTION_NAME);
  V(LDPT_GET_INPUT_SECTION_CONTENTS); V(LDPT_UPDATE_SECTION_ORDER);
  V(LDPT_ALLOW_SECTION_ORDERING); V(LDPT_GET_SYMBOLS_V2);
  V(LDPT_ALLOW_UNIQUE_SEGMENT_FOR_SECTIONS); V(LDPT_UNIQUE_SEGMENT_FOR_SECTIONS);
  V(LDPT_GET_SYMBOLS_V3); V(LDPT_GET_INPUT_SECTION_ALIGNMENT); V(LDPT_GET_INPUT_SECTION_SIZE);
  V(LDPT_REGISTER_NEW_INPUT_HOOK); V(LDPT_GET_WRAP_SYMBOLS); V(LDPT_ADD_SYMBOLS_V2);
  V(LDPT_GET_API_VERSION);

  S(struct ld_plugin_input_file);
  F(struct ld_plugin_input_file, name); F(struct ld_plugin_input_file, fd);
  F(struct ld_plugin_input_file, offset); F(struct ld_plugin_input_file, filesize);
  F(struct ld_plugin_input_file, handle);
  S(struct ld_plugin_symbol);
  F(struct ld_plugin_symbol, name); F(struct ld_plugin_symbol, version);
  F(struct ld_plugin_symbol, def); F(struct ld_plugin_symbol, symbol_type);
  F(struct ld_plugin_symbol, section_kind); F(struct ld_plugin_symbol, visibility);
  F(struct ld_plugin_symbol, size); F(struct ld_plugin_symbol, comdat_key);
  F(struct ld_plugin_symbol, resolution);
  S(struct ld_plugin_section);
  F(struct ld_plugin_section, handle); F(struct ld_plugin_section, shndx);
  S(struct ld_plugin_tv);
  F(struct ld_plugin_tv, tv_tag); F(struct ld_plugin_tv, tv_u);
  F(struct ld_plugin_tv, tv_u.tv_val); F(struct ld_plugin_tv, tv_u.tv_string);
  F(struct ld_plugin_tv, tv_u.tv_message); F(struct ld_plugin_tv, tv_u.tv_get_api_version);

  /* The callback types must be assignable both ways. */
  ld_plugin_claim_file_handler claim = 0; (void)claim;
  ld_plugin_message msg = 0; (void)msg;
  ld_plugin_get_api_version gav = 0; (void)gav;
  ld_plugin_onload onload = 0; (void)onload;
  return 0;
}
