/*
 * ldprune's own description of the GNU linker plugin interface.
 *
 * Written for ldprune from the public description of the interface
 * (the "linker plugin" API implemented by GNU ld.bfd and gold, as documented
 * on the GCC wiki "whopr/driver" page). Only the numbers and the layout must
 * match what the linkers use; tests/abi_check.c compares every enum value and
 * struct layout here with the system's /usr/include/plugin-api.h.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef LDPRUNE_PLUGIN_API_H
#define LDPRUNE_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* off_t: its width follows the linker's build */

#ifdef __cplusplus
extern "C" {
#endif

/* What every interface function returns. */
enum ld_plugin_status {
  LDPS_OK = 0,
  LDPS_NO_SYMS,   /* the file holds no symbols */
  LDPS_BAD_HANDLE,
  LDPS_ERR
};

/* Kind of file the linker is writing (LDPT_LINKER_OUTPUT). */
enum ld_plugin_output_file_type {
  LDPO_REL = 0,
  LDPO_EXEC,
  LDPO_DYN,
  LDPO_PIE
};

/* An input file as the linker shows it to claim_file. For an archive
   member, name is the archive, offset the start of the member's data and
   filesize its size. handle identifies the file in later calls; it may be
   NULL for a real file (gold's first one is). */
struct ld_plugin_input_file {
  const char *name;
  int fd;
  off_t offset;
  off_t filesize;
  void *handle;
};

/* A symbol passed to add_symbols or filled in by get_symbols. The byte that
   older versions of the interface called "int def" was split into four
   chars; the kind stays in the lowest-addressed byte on little-endian
   machines and in the highest on big-endian ones. */
struct ld_plugin_symbol {
  char *name;
  char *version;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  char unused;
  char section_kind;
  char symbol_type;
  char def;
#else
  char def;          /* enum ld_plugin_symbol_kind */
  char symbol_type;  /* enum ld_plugin_symbol_type */
  char section_kind; /* enum ld_plugin_symbol_section_kind */
  char unused;
#endif
  int visibility;    /* enum ld_plugin_symbol_visibility */
  uint64_t size;
  char *comdat_key;
  int resolution;    /* enum ld_plugin_symbol_resolution */
};

/* An input section, for the section-ordering calls (gold only). */
struct ld_plugin_section {
  const void *handle;
  unsigned int shndx;
};

enum ld_plugin_symbol_kind {
  LDPK_DEF = 0,
  LDPK_WEAKDEF,
  LDPK_UNDEF,
  LDPK_WEAKUNDEF,
  LDPK_COMMON
};

enum ld_plugin_symbol_visibility {
  LDPV_DEFAULT = 0,
  LDPV_PROTECTED,
  LDPV_INTERNAL,
  LDPV_HIDDEN
};

enum ld_plugin_symbol_type {
  LDST_UNKNOWN = 0,
  LDST_FUNCTION,
  LDST_VARIABLE
};

enum ld_plugin_symbol_section_kind {
  LDSSK_DEFAULT = 0,
  LDSSK_BSS
};

/* How the linker resolved a symbol (get_symbols). */
enum ld_plugin_symbol_resolution {
  LDPR_UNKNOWN = 0,
  LDPR_UNDEF,
  LDPR_PREVAILING_DEF,
  LDPR_PREVAILING_DEF_IRONLY,
  LDPR_PREEMPTED_REG,
  LDPR_PREEMPTED_IR,
  LDPR_RESOLVED_IR,
  LDPR_RESOLVED_EXEC,
  LDPR_RESOLVED_DYN,
  LDPR_PREVAILING_DEF_IRONLY_EXP
};

/* Severity for the message callback. LDPL_ERROR makes the link fail,
   LDPL_FATAL stops it at once. */
enum ld_plugin_level {
  LDPL_INFO = 0,
  LDPL_WARNING,
  LDPL_ERROR,
  LDPL_FATAL
};

/* Tags of the transfer vector handed to onload. */
enum ld_plugin_tag {
  LDPT_NULL = 0,
  LDPT_API_VERSION = 1,
  LDPT_GOLD_VERSION = 2,
  LDPT_LINKER_OUTPUT = 3,
  LDPT_OPTION = 4,
  LDPT_REGISTER_CLAIM_FILE_HOOK = 5,
  LDPT_REGISTER_ALL_SYMBOLS_READ_HOOK = 6,
  LDPT_REGISTER_CLEANUP_HOOK = 7,
  LDPT_ADD_SYMBOLS = 8,
  LDPT_GET_SYMBOLS = 9,
  LDPT_ADD_INPUT_FILE = 10,
  LDPT_MESSAGE = 11,
  LDPT_GET_INPUT_FILE = 12,
  LDPT_RELEASE_INPUT_FILE = 13,
  LDPT_ADD_INPUT_LIBRARY = 14,
  LDPT_OUTPUT_NAME = 15,
  LDPT_SET_EXTRA_LIBRARY_PATH = 16,
  LDPT_GNU_LD_VERSION = 17,
  LDPT_GET_VIEW = 18,
  LDPT_GET_INPUT_SECTION_COUNT = 19,
  LDPT_GET_INPUT_SECTION_TYPE = 20,
  LDPT_GET_INPUT_SECTION_NAME = 21,
  LDPT_GET_INPUT_SECTION_CONTENTS = 22,
  LDPT_UPDATE_SECTION_ORDER = 23,
  LDPT_ALLOW_SECTION_ORDERING = 24,
  LDPT_GET_SYMBOLS_V2 = 25,
  LDPT_ALLOW_UNIQUE_SEGMENT_FOR_SECTIONS = 26,
  LDPT_UNIQUE_SEGMENT_FOR_SECTIONS = 27,
  LDPT_GET_SYMBOLS_V3 = 28,
  LDPT_GET_INPUT_SECTION_ALIGNMENT = 29,
  LDPT_GET_INPUT_SECTION_SIZE = 30,
  LDPT_REGISTER_NEW_INPUT_HOOK = 31,
  LDPT_GET_WRAP_SYMBOLS = 32,
  LDPT_ADD_SYMBOLS_V2 = 33,
  LDPT_GET_API_VERSION = 34
};

/* Hooks the plugin registers. */
typedef enum ld_plugin_status (*ld_plugin_claim_file_handler)(
    const struct ld_plugin_input_file *file, int *claimed);
typedef enum ld_plugin_status (*ld_plugin_all_symbols_read_handler)(void);
typedef enum ld_plugin_status (*ld_plugin_cleanup_handler)(void);
typedef enum ld_plugin_status (*ld_plugin_new_input_handler)(
    const struct ld_plugin_input_file *file);

/* Services the linker offers. */
typedef enum ld_plugin_status (*ld_plugin_register_claim_file)(
    ld_plugin_claim_file_handler handler);
typedef enum ld_plugin_status (*ld_plugin_register_all_symbols_read)(
    ld_plugin_all_symbols_read_handler handler);
typedef enum ld_plugin_status (*ld_plugin_register_cleanup)(
    ld_plugin_cleanup_handler handler);
typedef enum ld_plugin_status (*ld_plugin_register_new_input)(
    ld_plugin_new_input_handler handler);
typedef enum ld_plugin_status (*ld_plugin_add_symbols)(
    void *handle, int nsyms, const struct ld_plugin_symbol *syms);
typedef enum ld_plugin_status (*ld_plugin_get_input_file)(
    const void *handle, struct ld_plugin_input_file *file);
typedef enum ld_plugin_status (*ld_plugin_get_view)(const void *handle,
                                                    const void **viewp);
typedef enum ld_plugin_status (*ld_plugin_release_input_file)(
    const void *handle);
typedef enum ld_plugin_status (*ld_plugin_get_symbols)(
    const void *handle, int nsyms, struct ld_plugin_symbol *syms);
typedef enum ld_plugin_status (*ld_plugin_add_input_file)(
    const char *pathname);
typedef enum ld_plugin_status (*ld_plugin_add_input_library)(
    const char *libname);
typedef enum ld_plugin_status (*ld_plugin_set_extra_library_path)(
    const char *path);
typedef enum ld_plugin_status (*ld_plugin_message)(int level,
                                                   const char *format, ...);
typedef enum ld_plugin_status (*ld_plugin_get_input_section_count)(
    const void *handle, unsigned int *count);
typedef enum ld_plugin_status (*ld_plugin_get_input_section_type)(
    const struct ld_plugin_section section, unsigned int *type);
typedef enum ld_plugin_status (*ld_plugin_get_input_section_name)(
    const struct ld_plugin_section section, char **section_name_ptr);
typedef enum ld_plugin_status (*ld_plugin_get_input_section_contents)(
    const struct ld_plugin_section section,
    const unsigned char **section_contents, size_t *len);
typedef enum ld_plugin_status (*ld_plugin_update_section_order)(
    const struct ld_plugin_section *section_list, unsigned int num_sections);
typedef enum ld_plugin_status (*ld_plugin_allow_section_ordering)(void);
typedef enum ld_plugin_status (*ld_plugin_allow_unique_segment_for_sections)(
    void);
typedef enum ld_plugin_status (*ld_plugin_unique_segment_for_sections)(
    const char *segment_name, uint64_t segment_flags,
    uint64_t segment_alignment, const struct ld_plugin_section *section_list,
    unsigned int num_sections);
typedef enum ld_plugin_status (*ld_plugin_get_input_section_alignment)(
    const struct ld_plugin_section section, unsigned int *addralign);
typedef enum ld_plugin_status (*ld_plugin_get_input_section_size)(
    const struct ld_plugin_section section, uint64_t *secsize);
typedef enum ld_plugin_status (*ld_plugin_get_wrap_symbols)(
    uint64_t *num_symbols, const char ***wrap_symbol_list);
typedef int (*ld_plugin_get_api_version)(const char *plugin_identifier,
                                         unsigned plugin_version,
                                         int minimal_api_supported,
                                         int maximal_api_supported,
                                         const char **linker_identifier,
                                         const char **linker_version);

/* One entry of the transfer vector: a tag and the value it carries. */
struct ld_plugin_tv {
  enum ld_plugin_tag tv_tag;
  union {
    int tv_val;
    const char *tv_string;
    ld_plugin_register_claim_file tv_register_claim_file;
    ld_plugin_register_all_symbols_read tv_register_all_symbols_read;
    ld_plugin_register_cleanup tv_register_cleanup;
    ld_plugin_register_new_input tv_register_new_input;
    ld_plugin_add_symbols tv_add_symbols;
    ld_plugin_get_symbols tv_get_symbols;
    ld_plugin_add_input_file tv_add_input_file;
    ld_plugin_message tv_message;
    ld_plugin_get_input_file tv_get_input_file;
    ld_plugin_get_view tv_get_view;
    ld_plugin_release_input_file tv_release_input_file;
    ld_plugin_add_input_library tv_add_input_library;
    ld_plugin_set_extra_library_path tv_set_extra_library_path;
    ld_plugin_get_input_section_count tv_get_input_section_count;
    ld_plugin_get_input_section_type tv_get_input_section_type;
    ld_plugin_get_input_section_name tv_get_input_section_name;
    ld_plugin_get_input_section_contents tv_get_input_section_contents;
    ld_plugin_update_section_order tv_update_section_order;
    ld_plugin_allow_section_ordering tv_allow_section_ordering;
    ld_plugin_allow_unique_segment_for_sections
        tv_allow_unique_segment_for_sections;
    ld_plugin_unique_segment_for_sections tv_unique_segment_for_sections;
    ld_plugin_get_input_section_alignment tv_get_input_section_alignment;
    ld_plugin_get_input_section_size tv_get_input_section_size;
    ld_plugin_get_wrap_symbols tv_get_wrap_symbols;
    ld_plugin_get_api_version tv_get_api_version;
  } tv_u;
};

/* The one symbol a plugin exports. */
typedef enum ld_plugin_status (*ld_plugin_onload)(struct ld_plugin_tv *tv);

#ifdef __cplusplus
}
#endif

#endif /* LDPRUNE_PLUGIN_API_H */
